import Kernels

/// Conversion of Float32 data to the element types the GGUF writer produces, with ggml's exact
/// semantics (`quantize_row_q8_0_ref`, F16C/ggml half rounding, `ggml_compute_fp32_to_bf16`).
public enum Quantization {
    /// The types `quantize` produces.
    public static let supportedTypes: [GGMLType] = [.f32, .f16, .bf16, .q8_0]

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
        default:
            for block in 0..<(source.count / 32) { quantizeQ8_0Block(input + 32 * block, output + 34 * block) }
        }
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
