import Kernels

/// Conversion of Float32 data to the element types the GGUF writer produces, with ggml's exact
/// semantics (`quantize_row_q8_0_ref`, `quantize_row_q4_0_ref`, `quantize_row_q5_0_ref`, F16C/ggml
/// half rounding, `ggml_compute_fp32_to_bf16`). Every type here is symmetric: a zero weight gets
/// the exact zero code, so pruned weights stay zero.
public enum Quantization {
    /// The types `quantize` produces.
    public static let supportedTypes: [GGMLType] = [.f32, .f16, .bf16, .q8_0, .q5_0, .q4_0]

    /// Whether Float32 data can be converted to `type`.
    public static func isSupported(_ type: GGMLType) -> Bool { supportedTypes.contains(type) }

    /// Bytes that `count` elements take as `type` (`count` a multiple of the block size).
    public static func byteCount(elements count: Int, type: GGMLType) -> Int {
        count / type.blockSize * type.bytesPerBlock
    }

    /// Encodes `source` as `type` into `destination`.
    ///
    /// Preconditions (checked): `type` is supported, `source.count` is a multiple of the block
    /// size and `destination` holds exactly `byteCount(elements: source.count, type: type)` bytes.
    public static func quantize(
        _ source: UnsafeBufferPointer<Float>, type: GGMLType, into destination: UnsafeMutableRawBufferPointer
    ) {
        precondition(isSupported(type), "quantization to \(type.name) is not supported")
        precondition(source.count % type.blockSize == 0, "element count is not a multiple of the block size")
        precondition(
            destination.count == byteCount(elements: source.count, type: type), "destination size does not match")
        guard let input = source.baseAddress, let output = destination.baseAddress else { return }
        switch type {
        case .f32:
            output.copyMemory(from: input, byteCount: source.count * 4)
        case .f16:
            shears_f32_to_f16(input, output, source.count)
        case .bf16:
            shears_f32_to_bf16(input, output, source.count)
        case .q4_0:
            for block in 0..<(source.count / 32) { quantizeQ4_0Block(input + 32 * block, output + 18 * block) }
        case .q5_0:
            for block in 0..<(source.count / 32) { quantizeQ5_0Block(input + 32 * block, output + 22 * block) }
        default:
            for block in 0..<(source.count / 32) { quantizeQ8_0Block(input + 32 * block, output + 34 * block) }
        }
    }

    /// How many of `values` read back as exactly zero once stored as `type` (quantized, then
    /// dequantized): the pruned zeros, plus the small weights the type rounds to zero.
    public static func zeroCount(afterStoring values: UnsafeBufferPointer<Float>, as type: GGMLType) -> Int {
        precondition(isSupported(type) && Dequantization.isSupported(type), "\(type.name) cannot round-trip")
        let encoded = UnsafeMutableRawBufferPointer.allocate(
            byteCount: byteCount(elements: values.count, type: type), alignment: 16)
        defer { encoded.deallocate() }
        quantize(values, type: type, into: encoded)
        let decoded = UnsafeMutableBufferPointer<Float>.allocate(capacity: values.count)
        defer { decoded.deallocate() }
        Dequantization.dequantize(UnsafeRawBufferPointer(encoded), type: type, into: decoded)
        return decoded.reduce(0) { $0 + ($1 == 0 ? 1 : 0) }
    }

    /// The signed value of largest magnitude in a block of 32 (the first of equal magnitudes), the
    /// reference point of ggml's symmetric 4- and 5-bit scales.
    private static func signedAbsoluteMax(_ x: UnsafePointer<Float>) -> Float {
        var absoluteMax: Float = 0, signed: Float = 0
        for j in 0..<32 where absoluteMax < abs(x[j]) {
            absoluteMax = abs(x[j])
            signed = x[j]
        }
        return signed
    }

    /// A 4- or 5-bit code as ggml computes it: `min(top, (int8_t)(x · id + offset))` with offset
    /// 8.5 or 16.5. The C cast truncates toward zero; NaN or out-of-range input gives 0 instead of
    /// trapping.
    private static func code(_ scaled: Float, offset: Float, top: Int) -> Int {
        let value = scaled + offset
        guard value > -129, value < 128 else { return value >= 128 ? top : 0 }
        return min(top, Int(Int8(value.rounded(.towardZero))))
    }

    /// One `block_q4_0`: d = m / −8 (m the signed value of largest magnitude) stored as f16, 32
    /// 4-bit codes q = min(15, trunc(x / d + 8.5)) packed low nibble = element j, high = j + 16;
    /// a weight reads back as d · (q − 8), so 0 stays 0.
    private static func quantizeQ4_0Block(_ x: UnsafePointer<Float>, _ block: UnsafeMutableRawPointer) {
        let d = signedAbsoluteMax(x) / -8
        let inverse: Float = d != 0 ? 1 / d : 0
        block.storeBytes(of: shears_float_to_half(d).littleEndian, as: UInt16.self)
        for j in 0..<16 {
            let low = code(x[j] * inverse, offset: 8.5, top: 15), high = code(x[16 + j] * inverse, offset: 8.5, top: 15)
            block.storeBytes(of: UInt8(low | (high << 4)), toByteOffset: 2 + j, as: UInt8.self)
        }
    }

    /// One `block_q5_0`: d = m / −16 stored as f16, 32 5-bit codes q = min(31, trunc(x / d + 16.5)):
    /// the low nibbles packed as in Q4_0, the fifth bits in a 32-bit word (bit j for element j);
    /// a weight reads back as d · (q − 16).
    private static func quantizeQ5_0Block(_ x: UnsafePointer<Float>, _ block: UnsafeMutableRawPointer) {
        let d = signedAbsoluteMax(x) / -16
        let inverse: Float = d != 0 ? 1 / d : 0
        block.storeBytes(of: shears_float_to_half(d).littleEndian, as: UInt16.self)
        var high: UInt32 = 0
        for j in 0..<16 {
            let first = code(x[j] * inverse, offset: 16.5, top: 31),
                second = code(x[16 + j] * inverse, offset: 16.5, top: 31)
            block.storeBytes(of: UInt8((first & 0xF) | ((second & 0xF) << 4)), toByteOffset: 6 + j, as: UInt8.self)
            high |= UInt32((first >> 4) & 1) << j
            high |= UInt32((second >> 4) & 1) << (j + 16)
        }
        block.storeBytes(of: high.littleEndian, toByteOffset: 2, as: UInt32.self)
    }

    /// One `block_q8_0`: d = max|x| / 127 stored as f16, q = round(x / d) (halves away from zero),
    /// using the unrounded d as ggml does. Non-finite input gives meaningless bytes (the writer
    /// rejects it beforehand) but never traps.
    private static func quantizeQ8_0Block(_ x: UnsafePointer<Float>, _ block: UnsafeMutableRawPointer) {
        var absoluteMax: Float = 0
        for j in 0..<32 { absoluteMax = max(absoluteMax, abs(x[j])) }
        let d = absoluteMax / 127
        let inverse: Float = d != 0 ? 1 / d : 0
        block.storeBytes(of: shears_float_to_half(d).littleEndian, as: UInt16.self)
        for j in 0..<32 {
            let q = (x[j] * inverse).rounded(.toNearestOrAwayFromZero)
            // Finite input always gives |q| <= 127; the clamp only keeps NaN/infinity from trapping.
            let stored: Int8 = q.isNaN ? 0 : Int8(Swift.max(-128, Swift.min(127, q)))
            block.storeBytes(of: stored, toByteOffset: 2 + j, as: Int8.self)
        }
    }
}
