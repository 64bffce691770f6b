/// What an allocator planned for one decoder layer: the sparsity of its matrices, an N:M pattern
/// when the layer gets its own, and the per-layer figure the plan came from (OWL: the outlier
/// ratio in percent).
public struct LayerTarget: Sendable, Equatable {
    /// Target fraction of zeros of every targeted matrix of the layer.
    public var sparsity: Double
    /// The layer's N:M pattern (nil: unstructured); `.unstructured` with sparsity 0 leaves the
    /// layer dense under an N:M selector.
    public var pattern: SparsityPattern?
    /// The surveyed figure behind the plan (OWL: outlier ratio D in percent), if any.
    public var measure: Double?

    /// Creates a target.
    public init(sparsity: Double, pattern: SparsityPattern? = nil, measure: Double? = nil) {
        self.sparsity = sparsity
        self.pattern = pattern
        self.measure = measure
    }
}
