import Kernels
import PruningEngine

/// Criterion: `|W_ij|` (magnitude pruning; needs no data).
public struct MagnitudeScore: PruneStep {
    /// "magnitude".
    public var name: String { "magnitude" }
    /// Criterion.
    public var stage: PruneStage { .criterion }
    /// None.
    public var requirement: StatisticsRequirement { [] }

    /// Creates the criterion.
    public init() {}

    /// Fills `work.scores` with |W|.
    public func run(_ work: MatrixWork) throws(PruneError) {
        var scores = [Float](repeating: 0, count: work.rows * work.columns)
        scores.withUnsafeMutableBufferPointer { out in
            shears_prune_abs_scores(work.weights.buffer.baseAddress!, work.rows, work.columns, nil, out.baseAddress!)
        }
        work.scores = scores
    }
}
