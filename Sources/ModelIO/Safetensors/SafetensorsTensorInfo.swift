/// Where one tensor lives in a safetensors file, as its header declares it.
public struct SafetensorsTensorInfo: Sendable, Equatable {
    /// The tensor's name in the file.
    public var name: String
    /// The dtype name as written in the header (`F32`, `BF16`, `I64`, ...).
    public var dtypeName: String
    /// Dimensions, outermost first (PyTorch order).
    public var shape: [Int]
    /// Byte range within the data section (after the header).
    public var dataRange: Range<Int>

    /// The element type, if Shears can convert it to Float32.
    public var dtype: SafetensorsDType? { SafetensorsDType(rawValue: dtypeName) }

    /// Number of elements.
    public var elementCount: Int { shape.reduce(1, *) }
}
