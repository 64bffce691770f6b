import ModelIO

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
///
/// The engine knows no particular step: a step declares what the engine must know about it
/// (`producesPermutedGroups`, `surveyor`) and checks its own constraints on the chain and the
/// model (`validate(chain:model:)`).
public protocol PruneStep: Sendable {
    /// A short name for reports and errors (e.g. "wanda-score").
    var name: String { get }
    /// Its place in the pipeline.
    var stage: PruneStage { get }
    /// The statistics of the matrix input it reads (empty: none; the engine then skips them).
    var requirement: StatisticsRequirement { get }
    /// Whether the mask it chooses keeps N:M groups in a permuted channel order, which
    /// `MatrixWork` does not carry, so no refiner may follow it (default false).
    var producesPermutedGroups: Bool { get }
    /// The dense pre-pass this step needs before pruning starts (an allocator that surveys the
    /// model, such as OWL), or nil (the default).
    var surveyor: (any ModelSurveyingAllocator)? { get }
    /// Checks the step's own constraints on the whole `chain` (which contains it) and on `model`,
    /// after the engine's generic checks; the default accepts everything.
    ///
    /// - Throws: `PruneError` naming what does not fit.
    func validate(chain: [any PruneStep], model: Model) throws(PruneError)
    /// Does its work on one matrix.
    func run(_ work: MatrixWork) throws(PruneError)
}

extension PruneStep {
    /// False: a plain mask.
    public var producesPermutedGroups: Bool { false }
    /// Nil: no survey.
    public var surveyor: (any ModelSurveyingAllocator)? { nil }
    /// Accepts every chain and model.
    public func validate(chain: [any PruneStep], model: Model) throws(PruneError) {}
}
