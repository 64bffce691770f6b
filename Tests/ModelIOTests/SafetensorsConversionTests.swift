import Testing
import ModelIO
import TestSupport

@Suite("Safetensors element conversions")
struct SafetensorsConversionTests {
    @Test("every half decodes exactly and re-encodes to itself (NaNs stay NaN)")
    func halfRoundTrip() {
        for bits in 0...UInt16.max {
            let value = SafetensorsConversion.float(fromHalf: bits)
            #if !(os(macOS) && arch(x86_64))  // Float16 does not exist on Intel Macs
            let reference = Float(Float16(bitPattern: bits))
            #expect(value.bitPattern == reference.bitPattern || (value.isNaN && reference.isNaN), "half \(bits)")
            #endif
            if value.isNaN {
                #expect(SafetensorsConversion.float(fromHalf: SafetensorsConversion.half(from: value)).isNaN)
            } else {
                #expect(SafetensorsConversion.half(from: value) == bits, "half \(bits)")
            }
        }
    }

    @Test("Float32 → half rounds to nearest, ties to even, like the hardware conversion")
    func halfRounding() {
        var rng = SplitMix64(seed: 7)
        var samples: [Float] = [65504, 65519.99, 65520, 1e-8, 2.98e-8, 2.99e-8, 5.96e-8, 6.1e-5, 1 + 0x1p-11, 1 + 0x1p-11 + 0x1p-23, .infinity, 1e30]
        for _ in 0..<200_000 { samples.append(Float(bitPattern: UInt32(truncatingIfNeeded: rng.next()))) }
        for value in samples where !value.isNaN {
            let bits = SafetensorsConversion.half(from: value)
            #if !(os(macOS) && arch(x86_64))  // Float16 does not exist on Intel Macs
            #expect(bits == Float16(value).bitPattern, "value \(value)")
            #endif
            let back = SafetensorsConversion.half(from: -value)
            #expect(back == bits ^ 0x8000, "sign symmetry for \(value)")
        }
    }

    @Test("bfloat16 rounds to nearest even and decodes exactly")
    func bfloat16() {
        #expect(SafetensorsConversion.bfloat16(from: 1) == 0x3F80)
        // 1 + 2^-8 is halfway between 1 and 1 + 2^-7: ties to even (1).
        #expect(SafetensorsConversion.bfloat16(from: 1 + 0x1p-8) == 0x3F80)
        // 1 + 3·2^-8 is halfway between 1 + 2^-7 (odd) and 1 + 2^-6: ties to even (up).
        #expect(SafetensorsConversion.bfloat16(from: 1 + 3 * 0x1p-8) == 0x3F82)
        #expect(SafetensorsConversion.bfloat16(from: 1 + 0x1p-8 + 0x1p-20) == 0x3F81)
        #expect(SafetensorsConversion.bfloat16(from: .greatestFiniteMagnitude) == 0x7F80)
        #expect(SafetensorsConversion.float(fromBFloat16: SafetensorsConversion.bfloat16(from: .nan)).isNaN)
        for bits in 0...UInt16.max {
            let value = SafetensorsConversion.float(fromBFloat16: bits)
            #expect(value.bitPattern == UInt32(bits) << 16)
            if !value.isNaN { #expect(SafetensorsConversion.bfloat16(from: value) == bits) }
        }
    }
}
