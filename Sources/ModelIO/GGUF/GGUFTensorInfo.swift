/// The description of one tensor in a GGUF file: name, dimensions, element type and where its
/// data lies.
public struct GGUFTensorInfo: Sendable, Equatable {
    /// The tensor's name, e.g. `blk.0.attn_q.weight`.
    public var name: String
    /// Dimensions in GGUF order, innermost (contiguous) first.
    public var dimensions: [Int]
    /// The element type of the stored data.
    public var type: GGMLType
    /// Offset of the data relative to the start of the file's data section.
    public var offset: Int

    /// Creates a tensor description.
    public init(name: String, dimensions: [Int], type: GGMLType, offset: Int) {
        self.name = name
        self.dimensions = dimensions
        self.type = type
        self.offset = offset
    }

    /// Row-major shape, outermost first (the reversed `dimensions`).
    public var shape: [Int] { dimensions.reversed() }

    /// Number of elements.
    public var elementCount: Int { dimensions.reduce(1, *) }

    /// Bytes of stored data.
    public var byteCount: Int { elementCount / type.blockSize * type.bytesPerBlock }
}
