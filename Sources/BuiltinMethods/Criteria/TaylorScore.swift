import PruningEngine

/// Criterion: LLM-Pruner's element-wise Taylor importance from the dense model's loss gradient
/// `g = ∂L/∂W` (L the mean next-token loss over the calibration windows):
/// first order `|W ⊙ g|` (the reference's `param_first`), second order
/// `|W ⊙ g − ½ W ⊙ F ⊙ W|` (`param_mix`, the paper's Element²) with `F` the diagonal Fisher
/// estimate, the mean over windows of each window's squared gradient (`acc_grad`).
public struct TaylorScore: PruneStep {
    /// Which Taylor term.
    public enum Order: Int, Sendable, CaseIterable {
        /// `|W ⊙ g|`.
        case first = 1
        /// `|W ⊙ g − ½ W ⊙ F ⊙ W|`.
        case second = 2
    }

    /// The Taylor term.
    public let order: Order

    /// "taylor".
    public var name: String { "taylor" }
    /// Criterion.
    public var stage: PruneStage { .criterion }
    /// No input statistics.
    public var requirement: StatisticsRequirement { [] }
    /// The gradient, and the Fisher estimate for the second order.
    public var gradientRequirement: GradientRequirement? { GradientRequirement(fisher: order == .second) }

    /// The criterion of `order`.
    public init(order: Order = .first) { self.order = order }

    /// Fills `work.scores`.
    public func run(_ work: MatrixWork) throws(PruneError) {
        let gradient = try work.requireGradient(fisher: order == .second, for: name)
        let w = work.weights.buffer, g = gradient.gradient.buffer
        var scores = [Float](repeating: 0, count: w.count)
        if let f = gradient.fisher?.buffer, order == .second {
            for i in w.indices { scores[i] = abs(w[i] * g[i] - 0.5 * w[i] * f[i] * w[i]) }
        } else {
            for i in w.indices { scores[i] = abs(w[i] * g[i]) }
        }
        work.scores = scores
    }
}
