/// Where a step sits in the per-matrix pipeline; steps run in this order.
public enum PruneStage: Int, Comparable, Sendable, CaseIterable {
    /// Decides how sparse each matrix is (`MatrixWork.sparsity`).
    case allocator
    /// Scores every weight (`MatrixWork.scores`).
    case criterion
    /// Turns scores into a mask (`MatrixWork.mask`).
    case selector
    /// Changes a mask.
    case refiner
    /// Updates the kept weights (and may choose the mask itself, like SparseGPT).
    case reconstructor

    /// Pipeline order.
    public static func < (lhs: PruneStage, rhs: PruneStage) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// One composable piece of a pruning method, run on each targeted matrix of a layer once the
/// layer's calibration statistics are gathered. New methods (RIA, DSnoT, OWL, plugin criteria)
/// are new steps; the engine does not change.
///
/// After the last step the engine zeroes the weights under `MatrixWork.mask`.
public protocol PruneStep: Sendable {
    /// A short name for reports and errors (e.g. "wanda-score").
    var name: String { get }
    /// Its place in the pipeline.
    var stage: PruneStage { get }
    /// The statistics of the matrix input it reads (empty: none; the engine then skips them).
    var requirement: StatisticsRequirement { get }
    /// Does its work on one matrix.
    func run(_ work: MatrixWork) throws(PruneError)
}
