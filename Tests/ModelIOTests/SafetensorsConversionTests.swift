import ModelIO
import TestSupport
import Testing

/// `values` encoded as 16-bit `type` elements through `SafetensorsConversion.encode`.
func encoded16(_ values: [Float], as type: SafetensorsDType) -> [UInt16] {
    var bits = [UInt16](repeating: 0, count: values.count)
    bits.withUnsafeMutableBytes { raw in
        values.withUnsafeBufferPointer { SafetensorsConversion.encode($0, as: type, into: raw.baseAddress!) }
    }
    return bits
}

/// 16-bit `type` elements decoded through `SafetensorsConversion.decode`.
func decoded16(_ bits: [UInt16], as type: SafetensorsDType) -> [Float] {
    var values = [Float](repeating: 0, count: bits.count)
    bits.withUnsafeBytes { raw in
        values.withUnsafeMutableBufferPointer { SafetensorsConversion.decode(type, from: raw.baseAddress!, into: $0) }
    }
    return values
}

@Suite("Safetensors element conversions")
struct SafetensorsConversionTests {
    @Test("every half decodes exactly and re-encodes to itself (NaNs stay NaN)")
    func halfRoundTrip() {
        let all = Array(0...UInt16.max)
        let values = decoded16(all, as: .f16)
        let again = encoded16(values, as: .f16)
        for (bits, (value, back)) in zip(all, zip(values, again)) {
            #if !(os(macOS) && arch(x86_64)) // Float16 does not exist on Intel Macs
                let reference = Float(Float16(bitPattern: bits))
                #expect(value.bitPattern == reference.bitPattern || (value.isNaN && reference.isNaN), "half \(bits)")
            #endif
            if value.isNaN {
                #expect(decoded16([back], as: .f16)[0].isNaN)
            } else {
                #expect(back == bits, "half \(bits)")
            }
        }
    }

    @Test("Float32 → half rounds to nearest, ties to even, like the hardware conversion (SIMD and scalar tails)")
    func halfRounding() {
        var rng = SplitMix64(seed: 7)
        var samples: [Float] = [
            65504, 65519.99, 65520, 1e-8, 2.98e-8, 2.99e-8, 5.96e-8, 6.1e-5, 1 + 0x1p-11, 1 + 0x1p-11 + 0x1p-23,
            .infinity, 1e30,
        ]
        for _ in 0..<200_003 { samples.append(Float(bitPattern: UInt32(truncatingIfNeeded: rng.next()))) }
        samples.removeAll { $0.isNaN }
        let bits = encoded16(samples, as: .f16)
        let negated = encoded16(samples.map { -$0 }, as: .f16)
        for (value, (half, negative)) in zip(samples, zip(bits, negated)) {
            #if !(os(macOS) && arch(x86_64)) // Float16 does not exist on Intel Macs
                #expect(half == Float16(value).bitPattern, "value \(value)")
            #endif
            #expect(negative == half ^ 0x8000, "sign symmetry for \(value)")
        }
    }

    @Test("bfloat16 rounds to nearest even and decodes exactly")
    func bfloat16() {
        // 1 + 2^-8 is halfway between 1 and 1 + 2^-7: ties to even (1).
        // 1 + 3·2^-8 is halfway between 1 + 2^-7 (odd) and 1 + 2^-6: ties to even (up).
        let values: [Float] = [1, 1 + 0x1p-8, 1 + 3 * 0x1p-8, 1 + 0x1p-8 + 0x1p-20, .greatestFiniteMagnitude]
        #expect(encoded16(values, as: .bf16) == [0x3F80, 0x3F80, 0x3F82, 0x3F81, 0x7F80])
        #expect(decoded16(encoded16([.nan], as: .bf16), as: .bf16)[0].isNaN)
        let all = Array(0...UInt16.max)
        let decoded = decoded16(all, as: .bf16)
        let again = encoded16(decoded, as: .bf16)
        for (bits, (value, back)) in zip(all, zip(decoded, again)) {
            #expect(value.bitPattern == UInt32(bits) << 16)
            if !value.isNaN { #expect(back == bits) }
        }
    }
}
