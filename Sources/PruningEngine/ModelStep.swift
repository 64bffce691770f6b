import Inference
import ModelIO

/// A step that works on the whole model once, before any layer is pruned: with the calibration
/// windows it may score whole blocks and remove them (depth pruning, as Shortened LLaMA does).
/// Later steps of the chain then prune the smaller model.
public protocol ModelStep: PruneStep {
    /// Does its work on the model.
    func run(model work: ModelWork) throws(PruneError)
}

extension ModelStep {
    /// Model steps run first.
    public var stage: PruneStage { .model }
    /// None: a model step reads no per-matrix statistics.
    public var requirement: StatisticsRequirement { [] }
    /// Never called: the engine runs a model step once through `run(model:)`.
    public func run(_ work: MatrixWork) throws(PruneError) {}
}

/// The model as a `ModelStep` sees it: the model itself, the calibration windows, the
/// language-model loss on them (also with blocks left out) and its gradient, and structural
/// removal.
public final class ModelWork {
    /// The model being pruned.
    public let model: Model
    /// The calibration windows (each an independent sequence from position 0).
    public let calibration: [[Int32]]
    /// What the step reports: a score per block of the model as the step found it, and the
    /// blocks it removed (indices before removal).
    public internal(set) var report: ModelStepReport

    private let cancellation: Cancellation?
    /// Hears the step's progress (`PruneOptions.stepProgress`).
    package var onProgress: ((ModelStepProgress) -> Void)?
    /// Bytes beyond the model that `gradients` may use (`PruneOptions.memoryLimit`).
    private let memoryLimit: Int
    /// One forward pass over the windows, made at the first use and again after a block removal
    /// (a forward pass is sized for the model's shape when created).
    private var forward: ForwardPass?

    /// The work of step `step` on `model` with `calibration`, gradients limited to `memoryLimit`
    /// bytes beyond the model (the engine makes one per model step; tests make their own).
    package init(model: Model, calibration: [[Int32]], step: String, memoryLimit: Int, cancellation: Cancellation?) {
        self.model = model
        self.calibration = calibration
        self.memoryLimit = memoryLimit
        self.cancellation = cancellation
        report = ModelStepReport(step: step, blockScores: [:], removedBlocks: [])
    }

    /// Reports that `done` of the `total` items (each a `unit`) of the step's phase `phase` are done.
    public func progress(_ phase: String, unit: String, done: Int, total: Int) {
        onProgress?(ModelStepProgress(step: report.step, phase: phase, unit: unit, done: done, total: total))
    }

    /// The mean next-token negative log-likelihood over every predicted token of every window
    /// (each window's first token is not predicted), with the blocks in `skipping` left out as if
    /// removed.
    ///
    /// - Throws: `PruneError` without calibration windows, for windows shorter than 2 tokens or
    ///   ids outside the vocabulary, or when the prune is cancelled.
    public func meanNegativeLogLikelihood(skipping: Set<Int> = []) throws(PruneError) -> Double {
        guard !calibration.isEmpty else { throw PruneError("\(report.step) needs calibration windows") }
        let forward = try forwardPass(capacity: calibration.map(\.count).max()!)
        forward.skippedLayers = skipping
        return try meanLoss(forward, windows: calibration)
    }

    /// The mean next-token NLL over every predicted token of `windows` through `forward` as it is
    /// set up; `prepare` runs before each window's forward, with its index.
    private func meanLoss(
        _ forward: ForwardPass, windows: [[Int32]], prepare: (Int) throws(PruneError) -> Void = { _ in }
    ) throws(PruneError) -> Double {
        var total = 0.0, count = 0
        for (index, window) in windows.enumerated() {
            try prepare(index)
            try PruneError.mapping(report.step) {
                try cancellation?.check()
                for value in try forward.negativeLogLikelihoods(window) {
                    total += Double(value)
                    count += 1
                }
            }
        }
        return total / Double(max(count, 1))
    }

    /// The forward pass kept for the loss, made (again) when there is none or it is too short for
    /// `capacity` positions.
    private func forwardPass(capacity: Int) throws(PruneError) -> ForwardPass {
        if let forward, forward.capacity >= capacity { return forward }
        let made = try PruneError.mapping(report.step) { try ForwardPass(model: model, capacity: capacity) }
        forward = made
        return made
    }

    /// The mean next-token NLL over every predicted token of `windows` on SCOP's mixed stream
    /// (`mixes`: one per layer, nil for a layer left alone); `prepare` runs before each window's
    /// forward, with its index, to set the mixes' knockoff sources. A forward only: no reverse pass.
    ///
    /// - Throws: `PruneError` for windows shorter than 2 tokens or ids outside the vocabulary, on
    ///   cancellation, or what `prepare` throws.
    package func mixedLoss(
        windows: [[Int32]], mixes: [UnitMix?], prepare: (Int) throws(PruneError) -> Void
    ) throws(PruneError) -> Double {
        let forward = try forwardPass(capacity: windows.map(\.count).max() ?? 1)
        forward.mixes = mixes
        forward.skippedLayers = []
        defer { forward.mixes = [] }
        return try meanLoss(forward, windows: windows, prepare: prepare)
    }

    /// The gradient of the mean next-token NLL over the calibration windows with respect to every
    /// weight of the model as it is now (and the Fisher estimate with `fisher`), handed to
    /// `consume` tensor by tensor as each is complete (`ModelGradients.weights`: by default in the
    /// order needing less memory, so a large model never holds a full gradient). Returns the
    /// mean NLL.
    ///
    /// - Throws: `PruneError` without calibration windows, for bad windows, for an estimate over
    ///   the prune's memory limit (before any work, with `memoryShortfall`), on cancellation, or
    ///   what `consume` throws.
    public func gradients(
        fisher: Bool, consume: (_ name: String, _ gradient: WeightGradient) throws(PruneError) -> Void
    ) throws(PruneError) -> Double {
        guard !calibration.isEmpty else { throw PruneError("\(report.step) needs calibration windows") }
        return try PruneError.mapping(report.step) {
            try ModelGradients(model: model, cancellation: cancellation).weights(
                windows: calibration, fisher: fisher, memoryLimit: memoryLimit
            ) { tensor in
                try consume(tensor.name, WeightGradient(gradient: tensor.gradient, fisher: tensor.squared))
            }
        }
    }

    /// Per calibration window, `∂L_w/∂g` at g = 1 for gates on `units` of `layers` (L_w that
    /// window's own mean NLL), without any weight gradient.
    ///
    /// - Throws: `PruneError` without calibration windows, for bad windows or a unit a layer
    ///   lacks, or on cancellation.
    package func gateGradients(units: Set<GateUnit>, layers: [Int]) throws(PruneError) -> [GateGradients] {
        guard !calibration.isEmpty else { throw PruneError("\(report.step) needs calibration windows") }
        let gradients = ModelGradients(model: model, cancellation: cancellation)
        var result: [GateGradients] = []
        for window in calibration {
            result.append(
                try PruneError.mapping(report.step) {
                    try gradients.gates(windows: [window], units: units, layers: layers, memoryLimit: memoryLimit)
                })
        }
        return result
    }

    /// Michel et al.'s unit importance over all calibration windows at once: per unit of `units`
    /// in `layers`, `Σ_t |x_t·∂L/∂x_t|` over every token t (x the unit's inputs to `attn_output` or
    /// `ffn_down`, L the mean NLL over every predicted token), each token's term taken absolute
    /// before the sum (`ModelGradients.gates` with `perToken`).
    ///
    /// - Throws: `PruneError` without calibration windows, for bad windows or a unit a layer
    ///   lacks, or on cancellation.
    package func tokenGateImportance(units: Set<GateUnit>, layers: [Int]) throws(PruneError) -> GateGradients {
        guard !calibration.isEmpty else { throw PruneError("\(report.step) needs calibration windows") }
        let gradients = ModelGradients(model: model, cancellation: cancellation)
        return try PruneError.mapping(report.step) {
            try gradients.gates(
                windows: calibration, units: units, layers: layers, perToken: true, memoryLimit: memoryLimit)
        }
    }

    /// `∂L/∂β` of SCOP's unit mixes (one per layer, nil for a layer left alone) over `windows`
    /// (L their mean NLL on the mixed stream), with the loss; `prepare` runs before each window.
    /// The reverse pass stops at the lowest mixed layer (only the mixed layers' gates are set).
    ///
    /// - Throws: `PruneError` for bad windows, on cancellation, or what `prepare` throws.
    package func mixGradients(
        windows: [[Int32]], units: Set<GateUnit>, mixes: [UnitMix?], prepare: @escaping (Int) throws -> Void
    ) throws(PruneError) -> GateGradients {
        let gradients = ModelGradients(model: model, cancellation: cancellation)
        do {
            return try gradients.gates(
                windows: windows, units: units, mixes: mixes, prepare: prepare, memoryLimit: memoryLimit)
        } catch let error as InferenceError {
            if let reason = error.cancellation { throw PruneError(cancelled: reason) }
            throw PruneError("\(report.step): \(error.message)")
        } catch let error as PruneError {
            throw error
        } catch {
            throw PruneError("\(report.step): \(error)")
        }
    }

    /// Runs the calibration windows through the model as it is now, layer by layer (the dense
    /// stream: each layer's output feeds the next), showing `observe` every layer's linear
    /// inputs per window (`rows × width` values, valid during the call).
    ///
    /// - Throws: `PruneError` without calibration windows, for bad ids or non-finite activations,
    ///   or on cancellation.
    public func denseStream(
        observe: (_ layer: Int, _ window: Int, _ site: LinearInputSite, _ values: UnsafeBufferPointer<Float>) -> Void
    ) throws(PruneError) {
        guard !calibration.isEmpty else { throw PruneError("\(report.step) needs calibration windows") }
        let activations = try CalibrationActivations(model: model, windows: calibration, cancellation: cancellation)
        let forward: DecoderLayerForward
        do { forward = try DecoderLayerForward(model: model, capacity: activations.longest) } catch {
            throw PruneError("\(report.step): \(error.message)")
        }
        for layer in 0..<model.config.layerCount {
            try activations.forwardInPlace(forward, layer: layer) { window, site, values in
                observe(layer, window, site, values)
            }
        }
    }

    /// Runs the calibration windows through the model as it is now, block by block, showing
    /// `observe` each window's input and output of every layer (`rows × hidden` each, valid
    /// during the call).
    ///
    /// - Throws: `PruneError` without calibration windows, for bad ids or non-finite activations,
    ///   or on cancellation.
    public func blockStream(
        observe: (
            _ layer: Int, _ window: Int, _ input: UnsafeBufferPointer<Float>, _ output: UnsafeBufferPointer<Float>
        ) -> Void
    ) throws(PruneError) {
        guard !calibration.isEmpty else { throw PruneError("\(report.step) needs calibration windows") }
        let activations = try CalibrationActivations(model: model, windows: calibration, cancellation: cancellation)
        let forward: DecoderLayerForward
        do { forward = try DecoderLayerForward(model: model, capacity: activations.longest) } catch {
            throw PruneError("\(report.step): \(error.message)")
        }
        for layer in 0..<model.config.layerCount {
            _ = try activations.forwardDense(forward, layer: layer, statistics: [:])
            for window in 0..<activations.windowCount {
                observe(layer, window, activations.input(window: window), activations.denseOutput(window: window))
            }
            activations.adoptDense()
        }
    }

    /// Sets (or, with nil, removes) the bias of `part` (`attn_output` or `ffn_down`) of `layer`.
    ///
    /// - Throws: `PruneError` for a part that takes no bias, a missing sub-block or a wrong size.
    public func setBias(_ values: [Float]?, of part: LlamaTensorNames.Layer, layer: Int) throws(PruneError) {
        do { try model.setBias(values, of: part, layer: layer) } catch {
            throw PruneError("\(report.step): \(error.message)")
        }
        forward = nil
    }

    /// Removes units within one layer (query heads, KV groups, FFN channels, a sub-block); the
    /// rest of the chain prunes the smaller model. `note` (what was removed) goes into the report
    /// as "removed " + `note`.
    ///
    /// - Throws: `PruneError` for an illegal removal (see `Model.remove`).
    public func remove(_ removal: StructuralRemoval, note: String) throws(PruneError) {
        do { try model.remove(removal) } catch { throw PruneError("\(report.step): \(error.message)") }
        forward = nil
        report.notes.append("removed " + note)
    }

    /// Adds a line to the report.
    public func note(_ text: String) { report.notes.append(text) }

    /// Records `scores` (by block index) for the report.
    public func record(blockScores scores: [Int: Double]) { report.blockScores = scores }

    /// Removes whole blocks (indices as the model has them now); later blocks are renumbered and
    /// the rest of the chain prunes the smaller model.
    ///
    /// - Throws: `PruneError` for an index out of range, a repeated one, or removing every block.
    public func removeBlocks(_ blocks: [Int]) throws(PruneError) {
        do { try model.remove(.blocks(blocks)) } catch { throw PruneError("\(report.step): \(error.message)") }
        forward = nil
        report.removedBlocks += blocks.sorted()
    }
}

/// What a model step did.
public struct ModelStepReport: Sendable, Equatable {
    /// The step's name.
    public var step: String
    /// Its score of each block it scored, by block index (lower: less important).
    public var blockScores: [Int: Double]
    /// The blocks it removed, by their index before removal, ascending.
    public var removedBlocks: [Int]
    /// One line per other removal (e.g. "layer 4: 384 of 1536 FFN channels").
    public var notes: [String] = []
}
