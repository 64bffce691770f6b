import Kernels

/// Conversions between Float32 and the safetensors element types, through the shared C kernels
/// (`Sources/Kernels/convert.c`, F16C when available): narrowing rounds to nearest, ties to even
/// (as PyTorch's `.to(torch.float16)` / `.to(torch.bfloat16)`), overflow goes to infinity, NaN
/// stays NaN (quiet, sign kept); widening is exact.
public enum SafetensorsConversion {
    /// Decodes `destination.count` little-endian elements of `type` at `source` into `destination`.
    public static func decode(
        _ type: SafetensorsDType, from source: UnsafeRawPointer, into destination: UnsafeMutableBufferPointer<Float>
    ) {
        let count = destination.count
        guard count > 0, let out = destination.baseAddress else { return }
        switch type {
        case .f32: UnsafeMutableRawPointer(out).copyMemory(from: source, byteCount: count * 4)
        case .f16: shears_f16_to_f32(source, out, count)
        case .bf16: shears_bf16_to_f32(source, out, count)
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
        case .f32: destination.copyMemory(from: input, byteCount: count * 4)
        case .f16: shears_f32_to_f16(input, destination, count)
        case .bf16: shears_f32_to_bf16(input, destination, count)
        }
    }
}
