import Kernels
import ModelIO
import TestSupport
import Testing

@Suite("GGUF dequantization and quantization")
struct GGUFDequantizationTests {
    // Parameterised by raw value: Swift Testing prints arguments, and GGMLType.description
    // currently recurses forever (see the report to the lead).
    @Test(
        "each type matches the element-by-element reference decoder bit for bit",
        arguments: Dequantization.supportedTypes.map(\.rawValue))
    func matchesReference(rawType: UInt32) throws {
        let type = try #require(GGMLType(rawValue: rawType))
        var rng = SplitMix64(seed: 0xD0 + UInt64(type.rawValue))
        // Enough blocks to exercise the parallel path (several chunks of 8192 blocks).
        let blocks = type.blockSize == 1 ? 100_003 : 20_011
        let bytes = GGUFQuantBlocks.random(type, blocks: blocks, rng: &rng)
        let expected = GGUFQuantBlocks.referenceDecode(type, bytes)
        var actual = [Float](repeating: .nan, count: blocks * type.blockSize)
        bytes.withUnsafeBytes { source in
            actual.withUnsafeMutableBufferPointer { Dequantization.dequantize(source, type: type, into: $0) }
        }
        let mismatches = zip(expected, actual).enumerated().filter {
            $0.element.0.bitPattern != $0.element.1.bitPattern
        }
        #expect(
            mismatches.isEmpty,
            "\(type.name): \(mismatches.count) elements differ, first \(mismatches.first.map { "#\($0.offset): \($0.element)" } ?? "")"
        )
    }

    @Test("the reference decoder itself agrees with values worked out by hand")
    func handWorkedBlocks() {
        // Q4_0: d = 0.5, byte 0 = 0x9F: element 0 = (15 - 8)·0.5, element 16 = (9 - 8)·0.5.
        var q4_0 = [UInt8](repeating: 0x88, count: 18)
        (q4_0[0], q4_0[1], q4_0[2]) = (0x00, 0x38, 0x9F)
        // Q6_K: d = 1, scale[0] = 2, ql[0] = 0x21, qh[0] = 0b11: element 0 = 2·((1 | 3 << 4) − 32) = 34;
        // element 1 has ql[1] = qh[1] = 0, so 2·(0 − 32) = −64.
        var q6_K = [UInt8](repeating: 0, count: 210)
        (q6_K[0], q6_K[128], q6_K[192], q6_K[208], q6_K[209]) = (0x21, 0b11, 2, 0x00, 0x3C)
        for (type, bytes, index, value) in [
            (GGMLType.q4_0, q4_0, 0, Float(3.5)), (.q4_0, q4_0, 16, 0.5),
            (.q6_K, q6_K, 0, 34), (.q6_K, q6_K, 1, -64),
        ] {
            var out = [Float](repeating: 0, count: type.blockSize)
            bytes.withUnsafeBytes { source in
                out.withUnsafeMutableBufferPointer { Dequantization.dequantize(source, type: type, into: $0) }
            }
            #expect(out[index] == value, "\(type.name)[\(index)]")
            #expect(GGUFQuantBlocks.element(type, block: bytes[...], index: index) == value)
        }
    }

    @Test("half → float is exact for all 65,536 bit patterns")
    func halfToFloatExhaustive() {
        let halves = (0...UInt16.max).map { $0 }
        var floats = [Float](repeating: 0, count: halves.count)
        halves.withUnsafeBytes { source in
            floats.withUnsafeMutableBufferPointer {
                shears_f16_to_f32(source.baseAddress, $0.baseAddress, halves.count)
            }
        }
        for (half, value) in zip(halves, floats) {
            let expected = Float(Float16(bitPattern: half))
            #expect(
                value.bitPattern == expected.bitPattern || (value.isNaN && expected.isNaN),
                "half 0x\(String(half, radix: 16))")
            if value.bitPattern != expected.bitPattern && !(value.isNaN && expected.isNaN) { break }
            #expect(shears_half_to_float(half).bitPattern == value.bitPattern || value.isNaN)
        }
    }

    @Test("float → half rounds to nearest even, like Swift's Float16, in bulk and scalar paths")
    func floatToHalf() {
        var rng = SplitMix64(seed: 7)
        var values: [Float] = [
            0, -0, 1, -1, 65504, 65519.99, 65520, -65520, 1e-8, 2.98e-8, 2.9802322e-8, 5.9604645e-8,
            6.1035156e-5, 6.097555e-5, .infinity, -.infinity, .greatestFiniteMagnitude, .leastNonzeroMagnitude,
        ]
        for _ in 0..<200_000 { values.append(Float(bitPattern: UInt32(truncatingIfNeeded: rng.next()))) }
        // Every half-way point between adjacent halves must round to even.
        for half in UInt16(0)..<0x7BFF {
            let low = Float(Float16(bitPattern: half)), high = Float(Float16(bitPattern: half + 1))
            values.append((low + high) / 2)
        }
        var bulk = [UInt16](repeating: 0, count: values.count)
        values.withUnsafeBufferPointer { source in
            bulk.withUnsafeMutableBytes { shears_f32_to_f16(source.baseAddress, $0.baseAddress, values.count) }
        }
        var failures = 0
        for (value, result) in zip(values, bulk) {
            let expected = Float16(value)
            let scalar = shears_float_to_half(value)
            let ok =
                value.isNaN
                ? Float16(bitPattern: result).isNaN && Float16(bitPattern: scalar).isNaN
                    && (result & 0x8000) == (scalar & 0x8000)
                : result == expected.bitPattern && scalar == expected.bitPattern
            if !ok { failures += 1 }
            #expect(
                ok,
                "\(value) → bulk 0x\(String(result, radix: 16)), scalar 0x\(String(scalar, radix: 16)), expected 0x\(String(expected.bitPattern, radix: 16))"
            )
            if failures > 5 { break }
        }
    }

    @Test("bfloat16 conversions: exact widening, round-to-nearest-even narrowing, NaN stays NaN")
    func bfloat16() {
        let inputs: [Float] = [
            1, -2.5, Float(bitPattern: 0x3F80_8000), Float(bitPattern: 0x3F81_8000), Float(bitPattern: 0x3F80_8001),
            .infinity, .nan, Float(bitPattern: 0x7F80_0001), .greatestFiniteMagnitude,
        ]
        let expected: [UInt16] = [0x3F80, 0xC020, 0x3F80, 0x3F82, 0x3F81, 0x7F80, 0x7FC0, 0x7FC0, 0x7F80]
        var narrowed = [UInt16](repeating: 0, count: inputs.count)
        inputs.withUnsafeBufferPointer { source in
            narrowed.withUnsafeMutableBytes { shears_f32_to_bf16(source.baseAddress, $0.baseAddress, inputs.count) }
        }
        #expect(narrowed == expected)
        var widened = [Float](repeating: 0, count: narrowed.count)
        narrowed.withUnsafeBytes { source in
            widened.withUnsafeMutableBufferPointer {
                shears_bf16_to_f32(source.baseAddress, $0.baseAddress, narrowed.count)
            }
        }
        #expect(widened.map(\.bitPattern) == narrowed.map { UInt32($0) << 16 })
    }

    @Test("Q8_0 quantization follows quantize_row_q8_0_ref and stays within half a step")
    func q8_0Quantization() {
        var rng = SplitMix64(seed: 42)
        var values = (0..<32 * 500).map { _ in (rng.nextUnitFloat() * 2 - 1) * 3 }
        values.replaceSubrange(0..<32, with: repeatElement(0, count: 32)) // an all-zero block
        values[40] = 1e-30 // a tiny amax
        var bytes = [UInt8](repeating: 0, count: 34 * 500)
        values.withUnsafeBufferPointer { source in
            bytes.withUnsafeMutableBytes { Quantization.quantize(source, type: .q8_0, into: $0) }
        }
        for block in 0..<500 {
            let x = values[(32 * block)..<(32 * block + 32)]
            let amax = x.map(abs).max()!
            let d = amax / 127
            let id: Float = d != 0 ? 1 / d : 0
            let storedD = UInt16(bytes[34 * block]) | UInt16(bytes[34 * block + 1]) << 8
            #expect(storedD == Float16(d).bitPattern)
            for (j, value) in x.enumerated() {
                let q = Int8(bitPattern: bytes[34 * block + 2 + j])
                #expect(q == Int8((value * id).rounded(.toNearestOrAwayFromZero)))
            }
        }
        var decoded = [Float](repeating: 0, count: values.count)
        bytes.withUnsafeBytes { source in
            decoded.withUnsafeMutableBufferPointer { Dequantization.dequantize(source, type: .q8_0, into: $0) }
        }
        for block in 0..<500 {
            let range = (32 * block)..<(32 * block + 32)
            let step = Float(Float16(values[range].map(abs).max()! / 127))
            // Half a step, plus the error of storing d as f16 scaled up to 127 steps.
            let bound = step / 2 + 127 * abs(step - values[range].map(abs).max()! / 127) + 1e-7
            for i in range { #expect(abs(decoded[i] - values[i]) <= bound) }
        }
    }

    @Test("unsupported types are reported as such")
    func support() {
        #expect(!Dequantization.isSupported(.q2_K) && !Dequantization.isSupported(.iq4_nl))
        #expect(Quantization.supportedTypes == [.f32, .f16, .bf16, .q8_0, .q5_0, .q4_0])
        #expect(!Quantization.isSupported(.q4_1) && !Quantization.isSupported(.q4_K))
    }
}
