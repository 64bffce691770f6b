import ModelIO

/// An allocator that looks at the whole dense model before anything is pruned (OWL).
///
/// The engine runs a dense pre-pass over the calibration windows: layer by layer, one forward of
/// the unpruned layer gathers `surveyRequirement` for the targeted matrices, `measure` reduces the
/// layer to one number, and the dense output feeds the next layer. Only one layer's statistics
/// are alive at a time. Then `plan` turns the numbers into per-layer targets, the engine restarts
/// from the captured decoder input, and the normal pass hands each matrix its layer's target in
/// `MatrixWork.plan`, which the allocator's `run` applies.
public protocol ModelSurveyingAllocator: PruneStep {
    /// The statistics `measure` reads.
    var surveyRequirement: StatisticsRequirement { get }
    /// Reduces one dense layer (its targeted matrices and their input statistics) to one number.
    func measure(_ layer: SurveyedLayer) throws(PruneError) -> Double
    /// Per-layer targets from the measures of the targeted layers, in layer order (same order
    /// and count in the result).
    func plan(_ measures: [(layer: Int, measure: Double)]) throws(PruneError) -> [LayerTarget]
}

extension ModelSurveyingAllocator {
    /// Itself: declaring the conformance is declaring the survey.
    public var surveyor: (any ModelSurveyingAllocator)? { self }
}

/// One dense decoder layer as a surveying allocator sees it.
public struct SurveyedLayer {
    /// Layer index.
    public let layer: Int
    /// Its targeted matrices, in layer order.
    public let matrices: [SurveyedMatrix]

    /// Creates a surveyed layer.
    public init(layer: Int, matrices: [SurveyedMatrix]) {
        self.layer = layer
        self.matrices = matrices
    }
}

/// One dense linear matrix with the statistics of its input.
public struct SurveyedMatrix {
    /// Tensor name.
    public let name: String
    /// Which linear part it is.
    public let part: LlamaTensorNames.Layer
    /// Output and input dimensions.
    public let rows: Int, columns: Int
    /// The dense weights, `rows × columns` row-major (read only).
    public let weights: TensorStorage
    /// The statistics of its input (`surveyRequirement`).
    public let statistics: InputStatistics

    /// Creates a surveyed matrix.
    public init(
        name: String, part: LlamaTensorNames.Layer, rows: Int, columns: Int, weights: TensorStorage,
        statistics: InputStatistics
    ) {
        self.name = name
        self.part = part
        self.rows = rows
        self.columns = columns
        self.weights = weights
        self.statistics = statistics
    }
}
