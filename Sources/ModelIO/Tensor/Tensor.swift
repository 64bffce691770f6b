/// A named Float32 tensor in row-major order, held in memory or still encoded in a file.
///
/// `shape` lists the dimensions outermost first, as PyTorch and NumPy do: a linear layer's weight
/// with `out` outputs and `in` inputs has shape `[out, in]` and row `r` holds the weights of
/// output `r`. (GGUF lists dimensions innermost first; the GGUF reader and writer reverse them.)
///
/// A streamed model's tensors (`ModelResidency.streamed`) keep their elements in the file until
/// `storage` is read: each read decodes them through the model's `TensorCache`, so a caller that
/// drops the storage lets the memory go. Name, shape and count never decode anything.
public struct Tensor: Sendable {
    /// Where the elements are.
    private enum Content: Sendable {
        case resident(TensorStorage)
        case source(TensorSource)
    }

    /// The tensor's name in GGUF convention, e.g. `blk.0.attn_q.weight`.
    public var name: String
    /// Dimensions, outermost first.
    public var shape: [Int]
    /// The element type the tensor had in the file it came from (informational).
    public var sourceType: GGMLType
    private var content: Content

    /// Creates a tensor; `storage.count` must equal the product of `shape`.
    public init(name: String, shape: [Int], storage: TensorStorage, sourceType: GGMLType = .f32) {
        precondition(storage.count == shape.reduce(1, *), "storage size does not match shape of \(name)")
        self.name = name
        self.shape = shape
        self.sourceType = sourceType
        content = .resident(storage)
    }

    /// A tensor whose elements `source` decodes when they are read.
    package init(name: String, shape: [Int], source: TensorSource, sourceType: GGMLType) {
        precondition(source.count == shape.reduce(1, *), "source size does not match shape of \(name)")
        self.name = name
        self.shape = shape
        self.sourceType = sourceType
        content = .source(source)
    }

    /// The elements. For a tensor still in its file this decodes them (or takes them from the
    /// model's cache of recently decoded tensors); keep the result while using its pointer.
    public var storage: TensorStorage {
        get {
            switch content {
            case .resident(let storage): storage
            case .source(let source): source.load()
            }
        }
        set {
            precondition(newValue.count == count, "storage size does not match shape of \(name)")
            content = .resident(newValue)
        }
    }

    /// Whether the elements are held in memory (false: decoded from a file when read).
    public var isResident: Bool {
        if case .resident = content { return true }
        return false
    }

    /// The file-backed source of a tensor that is not resident.
    package var source: TensorSource? {
        if case .source(let source) = content { return source }
        return nil
    }

    /// Number of elements.
    public var count: Int { shape.reduce(1, *) }

    /// Rows of a matrix (the first dimension); 1 for a vector.
    public var rows: Int { shape.count >= 2 ? shape[0] : 1 }

    /// Columns of a matrix (the product of all but the first dimension); the length of a vector.
    public var columns: Int { shape.count >= 2 ? shape.dropFirst().reduce(1, *) : (shape.first ?? 1) }
}
