/// Bit-exact conversions between Float32 and the 16-bit safetensors element types.
///
/// Written with integer operations so that they behave the same on every platform: narrowing
/// rounds to nearest, ties to even (as PyTorch's `.to(torch.float16)` / `.to(torch.bfloat16)`),
/// overflow goes to infinity, NaN stays NaN (quiet, sign kept).
public enum SafetensorsConversion {
    /// The Float32 value of IEEE half-precision bits (exact).
    @inline(__always)
    public static func float(fromHalf bits: UInt16) -> Float {
        let sign = UInt32(bits & 0x8000) << 16
        let exponent = UInt32(bits >> 10) & 0x1F
        let mantissa = UInt32(bits & 0x3FF)
        if exponent == 0x1F {
            return Float(bitPattern: sign | 0x7F80_0000 | (mantissa << 13))
        }
        if exponent == 0 {
            // Zero or subnormal: mantissa × 2^-24, exact in Float32.
            let magnitude = Float(mantissa) * 0x1p-24
            return sign != 0 ? -magnitude : magnitude
        }
        return Float(bitPattern: sign | ((exponent + 112) << 23) | (mantissa << 13))
    }

    /// The nearest IEEE half-precision value of `value` (ties to even).
    @inline(__always)
    public static func half(from value: Float) -> UInt16 {
        let bits = value.bitPattern
        let sign = UInt16(truncatingIfNeeded: (bits >> 16) & 0x8000)
        let exponent = Int((bits >> 23) & 0xFF)
        let mantissa = bits & 0x7F_FFFF
        if exponent == 0xFF {
            return sign | (mantissa != 0 ? 0x7E00 | UInt16(truncatingIfNeeded: mantissa >> 13) : 0x7C00)
        }
        let halfExponent = exponent - 112
        if halfExponent >= 0x1F { return sign | 0x7C00 }
        if halfExponent <= 0 {
            // Subnormal half (or zero): shift the full significand right, rounding to even.
            if halfExponent < -10 { return sign }
            let significand = mantissa | 0x80_0000
            let shift = UInt32(14 - halfExponent)
            var result = significand >> shift
            let remainder = significand & ((1 << shift) - 1)
            let halfway = UInt32(1) << (shift - 1)
            if remainder > halfway || (remainder == halfway && result & 1 == 1) { result += 1 }
            return sign | UInt16(result)
        }
        var result = UInt32(halfExponent) << 10 | (mantissa >> 13)
        let remainder = mantissa & 0x1FFF
        if remainder > 0x1000 || (remainder == 0x1000 && result & 1 == 1) { result += 1 }
        // A carry out of the mantissa correctly bumps the exponent (up to infinity).
        return sign | UInt16(result)
    }

    /// The Float32 value of bfloat16 bits (exact).
    @inline(__always)
    public static func float(fromBFloat16 bits: UInt16) -> Float {
        Float(bitPattern: UInt32(bits) << 16)
    }

    /// The nearest bfloat16 value of `value` (ties to even; NaN becomes a quiet NaN).
    @inline(__always)
    public static func bfloat16(from value: Float) -> UInt16 {
        let bits = value.bitPattern
        if value.isNaN { return UInt16(truncatingIfNeeded: bits >> 16) | 0x0040 }
        let rounded = bits &+ 0x7FFF &+ ((bits >> 16) & 1)
        return UInt16(truncatingIfNeeded: rounded >> 16)
    }

    /// Decodes `count` little-endian elements of `type` at `source` into `destination`.
    public static func decode(
        _ type: SafetensorsDType, from source: UnsafeRawPointer, into destination: UnsafeMutableBufferPointer<Float>
    ) {
        let count = destination.count
        guard count > 0, let out = destination.baseAddress else { return }
        switch type {
        case .f32:
            out.withMemoryRebound(to: UInt8.self, capacity: count * 4) { bytes in
                bytes.update(from: source.assumingMemoryBound(to: UInt8.self), count: count * 4)
            }
        case .f16:
            for i in 0..<count { out[i] = float(fromHalf: source.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) }
        case .bf16:
            for i in 0..<count { out[i] = float(fromBFloat16: source.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) }
        }
    }

    /// Encodes `source` as little-endian elements of `type` at `destination`
    /// (`source.count × type.byteCount` bytes).
    public static func encode(
        _ source: UnsafeBufferPointer<Float>, as type: SafetensorsDType, into destination: UnsafeMutableRawPointer
    ) {
        let count = source.count
        guard count > 0, let input = source.baseAddress else { return }
        switch type {
        case .f32:
            destination.copyMemory(from: input, byteCount: count * 4)
        case .f16:
            for i in 0..<count { destination.storeBytes(of: half(from: input[i]), toByteOffset: 2 * i, as: UInt16.self) }
        case .bf16:
            for i in 0..<count { destination.storeBytes(of: bfloat16(from: input[i]), toByteOffset: 2 * i, as: UInt16.self) }
        }
    }
}
