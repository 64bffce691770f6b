import Kernels
import PruningEngine

/// Criterion: Wanda's `|W_ij| · sqrt(scaler_row_j)` (= |W_ij|·‖X_j‖₂ up to a constant per matrix).
public struct WandaScore: PruneStep {
    /// "wanda".
    public var name: String { "wanda" }
    /// Criterion.
    public var stage: PruneStage { .criterion }
    /// Per-column squared norms.
    public var requirement: StatisticsRequirement { .squaredNorms }

    /// Creates the criterion.
    public init() {}

    /// Fills `work.scores`.
    public func run(_ work: MatrixWork) throws(PruneError) {
        let statistics = try work.requireStatistics(.squaredNorms, for: name)
        let norms = statistics.squaredNorms.map { $0.squareRoot() }
        var scores = [Float](repeating: 0, count: work.rows * work.columns)
        scores.withUnsafeMutableBufferPointer { out in
            norms.withUnsafeBufferPointer { scale in
                shears_prune_abs_scores(
                    work.weights.buffer.baseAddress!, work.rows, work.columns,
                    scale.baseAddress!, out.baseAddress!)
            }
        }
        work.scores = scores
    }
}
