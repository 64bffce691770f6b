/// A named, dense Float32 tensor in row-major order.
///
/// `shape` lists the dimensions outermost first, as PyTorch and NumPy do: a linear layer's weight
/// with `out` outputs and `in` inputs has shape `[out, in]` and row `r` holds the weights of
/// output `r`. (GGUF lists dimensions innermost first; the GGUF reader and writer reverse them.)
public struct Tensor: Sendable {
    /// The tensor's name in GGUF convention, e.g. `blk.0.attn_q.weight`.
    public var name: String
    /// Dimensions, outermost first.
    public var shape: [Int]
    /// The elements, `shape.reduce(1, *)` of them.
    public var storage: TensorStorage
    /// The element type the tensor had in the file it came from (informational).
    public var sourceType: GGMLType

    /// Creates a tensor; `storage.count` must equal the product of `shape`.
    public init(name: String, shape: [Int], storage: TensorStorage, sourceType: GGMLType = .f32) {
        precondition(storage.count == shape.reduce(1, *), "storage size does not match shape of \(name)")
        self.name = name
        self.shape = shape
        self.storage = storage
        self.sourceType = sourceType
    }

    /// Number of elements.
    public var count: Int { storage.count }

    /// Rows of a matrix (the first dimension); 1 for a vector.
    public var rows: Int { shape.count >= 2 ? shape[0] : 1 }

    /// Columns of a matrix (the product of all but the first dimension); the length of a vector.
    public var columns: Int { shape.count >= 2 ? shape.dropFirst().reduce(1, *) : (shape.first ?? 1) }
}
