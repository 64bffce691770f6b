/// Seconds spent per phase of a prune.
public struct PrunePhaseTimes: Sendable, Equatable {
    /// Layer forwards over the calibration set (dense for statistics, then pruned, plus a
    /// surveying allocator's dense pre-pass), excluding the statistics accumulation done inside them.
    public var forwards: Double = 0
    /// Accumulating the input statistics (norms, moments, Gram matrices).
    public var statistics: Double = 0
    /// Allocator, criterion, selector and refiner steps, and applying the masks.
    public var selection: Double = 0
    /// Reconstructor steps (SparseGPT).
    public var reconstruction: Double = 0
    /// The dense model's loss gradients for criteria that read them (forward and backward).
    public var gradients: Double = 0

    /// Creates zero times.
    public init() {}

    /// Sum of the phases.
    public var total: Double { forwards + statistics + selection + reconstruction + gradients }

    /// Adds `other` phase by phase.
    public static func += (lhs: inout PrunePhaseTimes, rhs: PrunePhaseTimes) {
        lhs.forwards += rhs.forwards
        lhs.statistics += rhs.statistics
        lhs.selection += rhs.selection
        lhs.reconstruction += rhs.reconstruction
        lhs.gradients += rhs.gradients
    }
}

/// The outcome for one pruned matrix.
public struct MatrixReport: Sendable, Equatable {
    /// Tensor name.
    public var name: String
    /// Weights in the matrix.
    public var count: Int
    /// Exact zeros after pruning.
    public var zeros: Int
    /// The target the allocator set.
    public var targetSparsity: Double
    /// Remarks from the steps (e.g. a Cholesky retry with more damping).
    public var notes: [String]

    /// Creates a matrix's outcome.
    public init(name: String, count: Int, zeros: Int, targetSparsity: Double, notes: [String]) {
        self.name = name
        self.count = count
        self.zeros = zeros
        self.targetSparsity = targetSparsity
        self.notes = notes
    }

    /// `zeros / count`.
    public var sparsity: Double { Double(zeros) / Double(count) }
}

/// The outcome for one decoder layer.
public struct LayerReport: Sendable, Equatable {
    /// Layer index.
    public var layer: Int
    /// Its pruned matrices, in layer order.
    public var matrices: [MatrixReport]
    /// The layer's target from a model-surveying allocator (OWL: sparsity, N:M, outlier ratio),
    /// nil otherwise.
    public var plan: LayerTarget?
    /// Relative reconstruction error of the layer output on the calibration set,
    /// `Σ‖Y_dense − Y_pruned‖² / Σ‖Y_dense‖²` (nil when pruned without calibration data).
    public var outputError: Double?
    /// Time per phase.
    public var times: PrunePhaseTimes

    /// Creates a layer's outcome.
    public init(
        layer: Int, matrices: [MatrixReport], plan: LayerTarget?, outputError: Double?, times: PrunePhaseTimes
    ) {
        self.layer = layer
        self.matrices = matrices
        self.plan = plan
        self.outputError = outputError
        self.times = times
    }

    /// Zeros over the layer's pruned matrices divided by their weights.
    public var sparsity: Double {
        Double(matrices.reduce(0) { $0 + $1.zeros }) / Double(max(1, matrices.reduce(0) { $0 + $1.count }))
    }
}

/// What a prune did: per layer and matrix, sparsity reached, output error and time.
public struct PruneReport: Sendable, Equatable {
    /// The steps run on every matrix, by name, in order.
    public var steps: [String]
    /// Layers with at least one pruned matrix, in order.
    public var layers: [LayerReport]
    /// Time per phase over all layers (the embedding of the calibration windows counts as forwards).
    public var times: PrunePhaseTimes
    /// Wall-clock seconds of the whole prune.
    public var seconds: Double
    /// Calibration windows and tokens used.
    public var calibrationWindows: Int, calibrationTokens: Int
    /// What the model steps (run before any layer) did, in order.
    public var modelSteps: [ModelStepReport] = []
    /// Bytes of calibration activations kept in a scratch file because they exceeded the memory
    /// limit (0: they were in memory).
    public var spilledActivationBytes = 0

    /// Zeros over all pruned matrices divided by their weights.
    public var sparsity: Double {
        let matrices = layers.flatMap(\.matrices)
        return Double(matrices.reduce(0) { $0 + $1.zeros }) / Double(max(1, matrices.reduce(0) { $0 + $1.count }))
    }
}

/// How far a model step's long phase has come, for progress display.
public struct ModelStepProgress: Sendable, Equatable {
    /// The step, e.g. "scop".
    public var step: String
    /// The phase, e.g. "gradient".
    public var phase: String
    /// What one item of the phase is, e.g. "step".
    public var unit: String
    /// Items done.
    public var done: Int
    /// Items in the phase.
    public var total: Int
}

/// Where a running prune is, for progress display.
public struct PruneProgress: Sendable, Equatable {
    /// The layer being processed.
    public var layer: Int
    /// Number of layers in the model.
    public var layerCount: Int
    /// Layers finished so far.
    public var layersDone: Int
}
