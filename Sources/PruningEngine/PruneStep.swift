import ModelIO

/// Where a step sits in the per-matrix pipeline; steps run in this order.
public enum PruneStage: Int, Comparable, Sendable, CaseIterable {
    /// Works on the whole model once, before any layer (`ModelStep`): may remove whole blocks.
    case model
    /// Decides how sparse each matrix is (`MatrixWork.sparsity`).
    case allocator
    /// Scores every weight (`MatrixWork.scores`).
    case criterion
    /// Turns scores into a mask (`MatrixWork.mask`).
    case selector
    /// Changes a mask.
    case refiner
    /// Works on the whole layer at once (`LayerStep`): may set per-row masks jointly across its
    /// matrices, re-run the layer, or remove structured units.
    case layer
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
    /// The model-level gradients it reads (`MatrixWork.gradient`), or nil (the default): none.
    var gradientRequirement: GradientRequirement? { get }
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
    /// Nil: no gradients.
    public var gradientRequirement: GradientRequirement? { nil }
    /// False: a plain mask.
    public var producesPermutedGroups: Bool { false }
    /// Nil: no survey.
    public var surveyor: (any ModelSurveyingAllocator)? { nil }
    /// Accepts every chain and model.
    public func validate(chain: [any PruneStep], model: Model) throws(PruneError) {}
}

/// A step that sees a whole decoder layer at once, after the matrix steps before it and before the
/// reconstructors after it: all of the layer's targeted matrices (their weights, scores and masks
/// so far), the calibration inputs and dense outputs of the layer, and the layer routine to run
/// it again with candidate weights. Methods that decide jointly across matrices (BESA's per-row
/// sparsities, structured criteria that remove coupled slices) are layer steps.
public protocol LayerStep: PruneStep {
    /// Whether it reads the layer's calibration inputs or runs the layer (default true): the
    /// engine then runs the calibrated loop even when no step asks for statistics.
    var usesCalibration: Bool { get }
    /// Does its work on one layer.
    func run(layer work: LayerWork) throws(PruneError)
}

extension LayerStep {
    /// Layer steps run at the layer stage.
    public var stage: PruneStage { .layer }
    /// True: layer steps see calibration data unless they say otherwise.
    public var usesCalibration: Bool { true }
    /// Never called: the engine runs a layer step once per layer through `run(layer:)`.
    public func run(_ work: MatrixWork) throws(PruneError) {}
}
