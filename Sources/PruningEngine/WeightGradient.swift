import ModelIO

/// What a criterion that reads gradients asks the engine for: the gradient of the dense model's
/// mean next-token loss over the calibration windows with respect to each targeted matrix, and
/// optionally the diagonal Fisher estimate. The engine computes them in one reverse pass before
/// any layer is pruned (as LLM-Pruner does) and hands each matrix its own in
/// `MatrixWork.gradient`.
public struct GradientRequirement: Sendable, Equatable {
    /// Whether the Fisher estimate is needed too.
    public var fisher: Bool

    /// A requirement, with the Fisher estimate or without.
    public init(fisher: Bool) { self.fisher = fisher }
}

/// One matrix's gradient of the dense model's mean next-token loss, as a criterion reads it.
public struct WeightGradient: Sendable {
    /// `∂L/∂W`, `rows × columns` row-major like the weights.
    public let gradient: TensorStorage
    /// The diagonal Fisher estimate `(1/N) Σ_w (∂ℓ_w/∂W)²` over the N windows (`ℓ_w` a window's
    /// own mean NLL), when a step asked for it.
    public let fisher: TensorStorage?

    /// Wraps a gradient and its optional Fisher estimate.
    public init(gradient: TensorStorage, fisher: TensorStorage?) {
        self.gradient = gradient
        self.fisher = fisher
    }
}
