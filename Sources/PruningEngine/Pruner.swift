import Inference
import Kernels
import ModelIO

/// The layer-wise pruning engine.
///
/// The decoder's input is captured for every calibration window (each an independent sequence
/// from position 0, no BOS added); then, layer by layer: one forward of the dense layer gathers
/// the statistics the steps ask for (once per distinct input: q/k/v share one, gate/up another),
/// the steps run on each targeted matrix, the pruned weights replace the model's tensors, and the
/// layer is run again with them to produce the next layer's input. Memory holds one layer's
/// statistics and two activation buffers (tokens × hidden Float32). When no step needs data the
/// calibration set is not used at all; nor when the statistics come from an importance matrix
/// (`PruneOptions.imatrix`, see `ImatrixStatistics`).
///
/// Model steps (`ModelStep`: block removal) run first, once, on the whole model; the layer loop
/// then prunes what is left. A `ModelSurveyingAllocator` (OWL) first gets a dense pre-pass over
/// all layers (see there);
/// the prune proper then restarts from the captured decoder input.
///
/// ```swift
/// let model = try ModelLoader.load(path: "model.gguf")
/// var options = PruneOptions()
/// options.ignore = [TensorNamePattern("blk.0.*")]
/// options.onLayer = { layer, report in print(layer, report.outputError ?? 0) }
/// let pruner = try Pruner(model: model, steps: try PruneMethod.wanda(sparsity: 0.5), options: options)
/// let report = try pruner.run(calibration: windows)   // [[Int32]], e.g. 64 windows of 512 ids
/// print(report.sparsity, report.times.total)
/// ```
public final class Pruner {
    /// The model pruned in place (its tensors are replaced).
    public let model: Model
    /// The steps, in stage order: model steps first, then those run on every targeted matrix.
    public let steps: [any PruneStep]
    /// Targets and callbacks.
    public let options: PruneOptions
    /// The statistics the steps need.
    public let requirement: StatisticsRequirement
    /// Per layer, the linear parts to prune (matching the targets, not the ignores); resolved
    /// again after the model steps, which may remove blocks.
    private var targets: [[LlamaTensorNames.Layer]] = []
    /// The steps run once on the whole model before any layer.
    private let modelSteps: [any ModelStep]
    /// The steps run per layer and matrix (empty when the chain has only model steps).
    private let matrixChain: [any PruneStep]
    /// The allocator when it surveys the dense model first.
    private let surveyor: (any ModelSurveyingAllocator)?
    /// Per layer, the surveying allocator's target (empty without one); set by `run`.
    private var plans: [Int: LayerTarget] = [:]
    /// The gradients the matrix chain reads (nil: none).
    private let gradientRequirement: GradientRequirement?
    /// Per targeted tensor not yet pruned, the dense model's loss gradient; set by `run` when the
    /// chain reads gradients, each handed over (and released) when its matrix is pruned.
    private var gradients: [String: WeightGradient] = [:]
    /// The statistics from `options.imatrix`, used instead of calibration forwards.
    private let imatrix: ImatrixStatistics?
    /// Bytes beyond the model (as it is now) that gradient computations may use.
    private var memoryLimit: Int { options.memoryLimit ?? MemoryBudget.available(beside: model) }

    /// Checks the steps and resolves the targets.
    ///
    /// - Throws: `PruneError` when there are no steps, they are out of stage order, or, when the
    ///   chain prunes matrices (anything besides model steps): there is not exactly one allocator,
    ///   none of them chooses a mask, a refiner has no selector before it (or follows a selector that
    ///   `producesPermutedGroups`), a step's own `validate(chain:model:)` fails, or the targets
    ///   match no linear matrix.
    public init(model: Model, steps: [any PruneStep], options: PruneOptions = PruneOptions()) throws(PruneError) {
        guard !steps.isEmpty else { throw PruneError("no pruning steps given") }
        for (previous, next) in zip(steps, steps.dropFirst()) where next.stage < previous.stage {
            throw PruneError("step \(next.name) (\(next.stage)) cannot follow \(previous.name) (\(previous.stage))")
        }
        modelSteps = steps.compactMap { $0 as? any ModelStep }
        matrixChain = steps.filter { !($0 is any ModelStep) }
        self.model = model
        self.steps = steps
        self.options = options
        requirement = matrixChain.reduce([]) { $0.union($1.requirement) }
        let readers = matrixChain.compactMap(\.gradientRequirement)
        gradientRequirement = readers.isEmpty ? nil : GradientRequirement(fisher: readers.contains(where: \.fisher))
        surveyor = matrixChain.isEmpty ? nil : try Self.checkMatrixChain(matrixChain)
        for step in steps { try step.validate(chain: steps, model: model) }
        imatrix = options.imatrix.map(ImatrixStatistics.init)
        if let imatrix {
            try ImatrixStatistics.check(
                imatrix.imatrix, modelSteps: modelSteps, matrixChain: matrixChain, surveyor: surveyor)
        }
        if let group = options.processGroup, group.size > 1 { try Self.checkDistributable(steps, options, group) }
        if !matrixChain.isEmpty { try resolveTargets() }
    }

    /// Refuses what a data-parallel prune cannot split over its ranks' windows.
    private static func checkDistributable(
        _ steps: [any PruneStep], _ options: PruneOptions, _ group: any ProcessGroup
    ) throws(PruneError) {
        let ranks = "across \(group.size) MPI ranks"
        if let step = steps.first(where: { $0 is any ModelStep }) {
            throw PruneError(
                "\(step.name) cannot run \(ranks): it scores or removes structures over all calibration windows "
                    + "at once; run it in one process (without mpirun)")
        }
        if let step = steps.first(where: { $0.gradientRequirement != nil }) {
            throw PruneError(
                "\(step.name) cannot run \(ranks): its loss gradients are not distributed; run it in one process")
        }
        if let step = steps.first(where: { ($0 as? any LayerStep)?.usesCalibration == true }) {
            throw PruneError(
                "\(step.name) cannot run \(ranks): it optimises on every calibration window in turn; "
                    + "run it in one process")
        }
        if options.journal != nil {
            throw PruneError("a prune journal cannot be kept \(ranks); run without one (--no-journal)")
        }
    }

    /// The ranks when there is more than one.
    private var group: (any ProcessGroup)? { options.processGroup.flatMap { $0.size > 1 ? $0 : nil } }

    /// Empty statistics of `requirement` for the input of `part` in `layer` (kept for combining
    /// across ranks in a distributed prune).
    private func makeStatistics(
        _ part: LlamaTensorNames.Layer, layer: Int, requirement: StatisticsRequirement
    ) -> InputStatistics {
        InputStatistics(
            columns: model.tensor(part.name(layer: layer))!.columns, requirement: requirement,
            distributed: group != nil)
    }

    /// Combines the statistics of every rank (a distributed prune; nothing otherwise).
    private func combine(_ statistics: [LinearInputSite: InputStatistics]) {
        guard let group else { return }
        for site in statistics.keys.sorted(by: { $0.rawValue < $1.rawValue }) {
            statistics[site]!.combine(across: group)
        }
    }

    /// The checks of a chain that prunes matrices; returns its allocator's survey, if any.
    private static func checkMatrixChain(_ steps: [any PruneStep]) throws(PruneError) -> (any ModelSurveyingAllocator)?
    {
        let allocators = steps.filter { $0.stage == .allocator }
        guard !allocators.isEmpty else {
            throw PruneError("no sparsity: give sparsity = ... or put an allocator such as shears.owl{...} first")
        }
        guard allocators.count == 1 else {
            throw PruneError("sparsity given twice: by \(allocators[0].name) and \(allocators[1].name)")
        }
        guard steps.contains(where: { $0.stage == .selector || $0.stage == .layer || $0.stage == .reconstructor })
        else {
            throw PruneError("no step chooses a mask: add a selector or a reconstructor")
        }
        if let refiner = steps.first(where: { $0.stage == .refiner }), !steps.contains(where: { $0.stage == .selector })
        {
            throw PruneError(
                "step \(refiner.name) refines a mask but no selector (such as wanda) chooses one before it")
        }
        if let refiner = steps.first(where: { $0.stage == .refiner }),
            let permuted = steps.first(where: \.producesPermutedGroups)
        {
            throw PruneError(
                "step \(refiner.name) cannot refine the mask of \(permuted.name): its N:M groups are in permuted "
                    + "channel order; drop permute or the refiner")
        }
        return allocators[0].surveyor
    }

    /// Per layer of the model as it is now, the linear parts the options target.
    private func resolveTargets() throws(PruneError) {
        targets = (0..<model.config.layerCount).map { layer in
            LinearMatrix.parts.filter { part in
                let name = part.name(layer: layer)
                guard part.exists(in: model.config.layers[layer]) else { return false }
                return options.targets.contains { $0.matches(name) } && !options.ignore.contains { $0.matches(name) }
            }
        }
        guard targets.contains(where: { !$0.isEmpty }) else {
            let globs = options.targets.map(\.text).joined(separator: ", ")
            throw PruneError("the targets [\(globs)] match no linear matrix (minus the ignored ones)")
        }
    }

    /// Prunes the model using `calibration` token windows (may be empty when no step needs data).
    ///
    /// - Throws: `PruneError` for missing or bad calibration ids, non-finite activations (naming
    ///   the layer and the tensors reading them), a failing step, or cancellation (checked before
    ///   every matrix and calibration window: within a fraction of a second).
    public func run(calibration: [[Int32]]) throws(PruneError) -> PruneReport {
        var stopwatch = Stopwatch()
        var report = PruneReport(
            steps: steps.map(\.name), layers: [], times: PrunePhaseTimes(), seconds: 0,
            calibrationWindows: 0, calibrationTokens: 0)
        for step in modelSteps {
            try checkCancellation()
            let work = ModelWork(
                model: model, calibration: calibration, step: step.name, memoryLimit: memoryLimit,
                cancellation: options.cancellation)
            work.onProgress = options.stepProgress
            var clock = Stopwatch()
            try step.run(model: work)
            report.times.selection += clock.lap()
            report.modelSteps.append(work.report)
        }
        if !modelSteps.isEmpty {
            report.calibrationWindows = calibration.count
            report.calibrationTokens = calibration.reduce(0) { $0 + $1.count }
        }
        guard !matrixChain.isEmpty else {
            report.seconds = stopwatch.lap()
            return report
        }
        try resolveTargets()
        plans = [:]
        if let surveyor { plans = try survey(surveyor, calibration, &report) }
        if let gradientRequirement { gradients = try computeGradients(gradientRequirement, calibration, &report) }
        defer { gradients = [:] }
        let needsData =
            !requirement.isEmpty || matrixChain.contains { ($0 as? any LayerStep)?.usesCalibration == true }
        if !needsData || imatrix != nil {
            let checkpoint = try resume(tokens: 0, &report)
            for layer in (checkpoint?.nextLayer ?? 0)..<model.config.layerCount where !targets[layer].isEmpty {
                options.progress?(
                    PruneProgress(
                        layer: layer, layerCount: model.config.layerCount,
                        layersDone: report.layers.count))
                var times = PrunePhaseTimes()
                let matrices = try pruneMatrices(
                    layer, statistics: [:], perMatrix: try imatrixStatistics(layer), times: &times)
                try finish(
                    LayerReport(layer: layer, matrices: matrices, plan: plans[layer], outputError: nil, times: times),
                    &report, activations: nil)
            }
        } else {
            try runCalibrated(calibration, &report)
        }
        report.seconds = stopwatch.lap()
        return report
    }

    private func runCalibrated(_ calibration: [[Int32]], _ report: inout PruneReport) throws(PruneError) {
        let (activations, forward) = try prepareCalibration(calibration, &report)
        let lastTarget = targets.lastIndex { !$0.isEmpty }!
        let checkpoint = try resume(tokens: activations.tokens, &report)
        if let saved = checkpoint?.activations { try activations.restore(saved) }
        for layer in (checkpoint?.nextLayer ?? 0)..<(lastTarget + 1) {
            options.progress?(
                PruneProgress(
                    layer: layer, layerCount: model.config.layerCount,
                    layersDone: report.layers.count))
            var times = PrunePhaseTimes()
            let parts = targets[layer]
            if parts.isEmpty {
                var clock = Stopwatch()
                try activations.forwardInPlace(forward, layer: layer)
                times.forwards += clock.lap()
                report.times += times
                continue
            }
            var statistics: [LinearInputSite: InputStatistics] = [:]
            for part in parts where statistics[LinearMatrix.site(part)] == nil {
                statistics[LinearMatrix.site(part)] = makeStatistics(part, layer: layer, requirement: requirement)
            }
            var clock = Stopwatch()
            let statisticsSeconds = try activations.forwardDense(forward, layer: layer, statistics: statistics)
            times.forwards += clock.lap() - statisticsSeconds
            times.statistics += statisticsSeconds
            combine(statistics)
            times.statistics += clock.lap()
            let matrices = try pruneMatrices(
                layer, statistics: statistics, times: &times, activations: activations,
                forward: forward)
            statistics = [:]
            _ = clock.lap()
            var error = try activations.forwardPruned(forward, layer: layer)
            if let group { error = OutputError(group.sum([error.difference, error.norm])) }
            times.forwards += clock.lap()
            try finish(
                LayerReport(
                    layer: layer, matrices: matrices, plan: plans[layer], outputError: error.ratio, times: times),
                &report, activations: activations)
        }
    }

    /// The dense pre-pass of a surveying allocator: every targeted layer's measure from the dense
    /// model, dense activations carried forward, then the allocator's plan.
    private func survey(
        _ surveyor: any ModelSurveyingAllocator, _ calibration: [[Int32]], _ report: inout PruneReport
    ) throws(PruneError) -> [Int: LayerTarget] {
        if imatrix != nil { return try surveyImatrix(surveyor) }
        let (activations, forward) = try prepareCalibration(calibration, &report)
        var measures: [(layer: Int, measure: Double)] = []
        let lastTarget = targets.lastIndex { !$0.isEmpty }!
        for layer in 0...lastTarget {
            options.progress?(PruneProgress(layer: layer, layerCount: model.config.layerCount, layersDone: 0))
            var clock = Stopwatch()
            let parts = targets[layer]
            if parts.isEmpty {
                try activations.forwardInPlace(forward, layer: layer)
                report.times.forwards += clock.lap()
                continue
            }
            var statistics: [LinearInputSite: InputStatistics] = [:]
            for part in parts where statistics[LinearMatrix.site(part)] == nil {
                statistics[LinearMatrix.site(part)] = makeStatistics(
                    part, layer: layer, requirement: surveyor.surveyRequirement)
            }
            let statisticsSeconds = try activations.forwardDense(forward, layer: layer, statistics: statistics)
            activations.adoptDense()
            report.times.forwards += clock.lap() - statisticsSeconds
            report.times.statistics += statisticsSeconds
            combine(statistics)
            report.times.statistics += clock.lap()
            let matrices = parts.map { part in
                let tensor = model.tensor(part.name(layer: layer))!
                return SurveyedMatrix(
                    name: tensor.name, part: part, rows: tensor.rows, columns: tensor.columns,
                    weights: tensor.storage, statistics: statistics[LinearMatrix.site(part)]!)
            }
            measures.append((layer, try surveyor.measure(SurveyedLayer(layer: layer, matrices: matrices))))
            report.times.selection += clock.lap()
        }
        let planned = try surveyor.plan(measures)
        guard planned.count == measures.count else {
            throw PruneError(
                "allocator \(surveyor.name) planned \(planned.count) layers for \(measures.count) surveyed")
        }
        return Dictionary(uniqueKeysWithValues: zip(measures.map(\.layer), planned))
    }

    /// The survey of a surveying allocator on the imatrix's statistics (no forwards).
    private func surveyImatrix(_ surveyor: any ModelSurveyingAllocator) throws(PruneError) -> [Int: LayerTarget] {
        var measures: [(layer: Int, measure: Double)] = []
        for layer in 0..<model.config.layerCount where !targets[layer].isEmpty {
            let statistics = try imatrixStatistics(layer)
            let matrices = targets[layer].map { part in
                let tensor = model.tensor(part.name(layer: layer))!
                return SurveyedMatrix(
                    name: tensor.name, part: part, rows: tensor.rows, columns: tensor.columns,
                    weights: tensor.storage, statistics: statistics[tensor.name]!)
            }
            measures.append((layer, try surveyor.measure(SurveyedLayer(layer: layer, matrices: matrices))))
        }
        let planned = try surveyor.plan(measures)
        guard planned.count == measures.count else {
            throw PruneError(
                "allocator \(surveyor.name) planned \(planned.count) layers for \(measures.count) surveyed")
        }
        return Dictionary(uniqueKeysWithValues: zip(measures.map(\.layer), planned))
    }

    /// Per targeted tensor of `layer`, its statistics from the imatrix (empty without one).
    private func imatrixStatistics(_ layer: Int) throws(PruneError) -> [String: InputStatistics] {
        guard let imatrix else { return [:] }
        var result: [String: InputStatistics] = [:]
        for part in targets[layer] {
            let name = part.name(layer: layer)
            result[name] = try imatrix.statistics(for: name, columns: model.tensor(name)!.columns)
        }
        return result
    }

    /// The dense model's loss gradients over `calibration` for every targeted matrix, in one
    /// reverse pass before any layer is pruned.
    private func computeGradients(
        _ requirement: GradientRequirement, _ calibration: [[Int32]], _ report: inout PruneReport
    ) throws(PruneError) -> [String: WeightGradient] {
        let readers = matrixChain.filter { $0.gradientRequirement != nil }.map(\.name).joined(separator: ", ")
        guard !calibration.isEmpty else { throw PruneError("\(readers) needs calibration windows for its gradients") }
        let wanted = Set(targets.enumerated().flatMap { layer, parts in parts.map { $0.name(layer: layer) } })
        // The gradients (and Fisher estimates) of every target stay in memory until its layer is pruned.
        let retained = wanted.reduce(0) { $0 + (model.tensor($1)?.count ?? 0) } * 4 * (requirement.fisher ? 2 : 1)
        var result: [String: WeightGradient] = [:]
        var clock = Stopwatch()
        try PruneError.mapping("gradients for \(readers)") {
            try ModelGradients(model: model, cancellation: options.cancellation).weights(
                windows: calibration, fisher: requirement.fisher, memoryLimit: memoryLimit, retained: retained
            ) { tensor in
                guard wanted.contains(tensor.name) else { return }
                result[tensor.name] = WeightGradient(gradient: tensor.gradient, fisher: tensor.squared)
            }
        }
        report.times.gradients += clock.lap()
        report.calibrationWindows = calibration.count
        report.calibrationTokens = calibration.reduce(0) { $0 + $1.count }
        return result
    }

    /// Runs the steps on the layer's targeted matrices and puts the results into the model. Without
    /// layer steps each matrix goes through all steps in turn (one matrix copy in memory at a
    /// time); with them, every matrix goes through the steps before the layer stage, then the
    /// layer steps see them all, then each goes through the steps after.
    private func pruneMatrices(
        _ layer: Int, statistics: [LinearInputSite: InputStatistics], perMatrix: [String: InputStatistics] = [:],
        times: inout PrunePhaseTimes,
        activations: CalibrationActivations? = nil, forward: DecoderLayerForward? = nil
    ) throws(PruneError) -> [MatrixReport] {
        let layerSteps = matrixChain.compactMap { $0 as? any LayerStep }
        guard !layerSteps.isEmpty else {
            var reports: [MatrixReport] = []
            for part in targets[layer] {
                try checkCancellation()
                let work = makeWork(layer, part, statistics, perMatrix)
                try run(matrixChain, on: work, times: &times)
                reports.append(finish(work, times: &times))
            }
            return reports
        }
        var works: [MatrixWork] = []
        for part in targets[layer] {
            try checkCancellation()
            let work = makeWork(layer, part, statistics, perMatrix)
            try run(matrixChain.filter { $0.stage < .layer }, on: work, times: &times)
            works.append(work)
        }
        let layerWork = LayerWork(
            layer: layer, model: model, matrices: works, statistics: statistics,
            activations: activations, forward: forward, plan: plans[layer])
        var clock = Stopwatch()
        for step in layerSteps {
            try checkCancellation()
            try step.run(layer: layerWork)
        }
        times.selection += clock.lap()
        var reports: [MatrixReport] = []
        for work in layerWork.matrices {
            try checkCancellation()
            try run(matrixChain.filter { $0.stage > .layer }, on: work, times: &times)
            reports.append(finish(work, times: &times))
        }
        return reports
    }

    /// A private copy of the matrix `part` of `layer` with its input statistics (its own entry of
    /// `perMatrix` when there is one, else its input site's).
    private func makeWork(
        _ layer: Int, _ part: LlamaTensorNames.Layer, _ statistics: [LinearInputSite: InputStatistics],
        _ perMatrix: [String: InputStatistics]
    ) -> MatrixWork {
        let name = part.name(layer: layer)
        let tensor = model.tensor(name)!
        let storage = tensor.storage
        let copy = TensorStorage(count: tensor.count) { _ = $0.update(fromContentsOf: storage.buffer) }
        return MatrixWork(
            name: name, layer: layer, part: part, rows: tensor.rows, columns: tensor.columns,
            weights: copy, statistics: perMatrix[name] ?? statistics[LinearMatrix.site(part)],
            gradient: gradients.removeValue(forKey: name),
            plan: plans[layer])
    }

    /// Runs the matrix-level `steps` on `work`, timing them.
    private func run(_ steps: [any PruneStep], on work: MatrixWork, times: inout PrunePhaseTimes) throws(PruneError) {
        var clock = Stopwatch()
        for step in steps {
            try step.run(work)
            if step.stage == .reconstructor {
                times.reconstruction += clock.lap()
            } else {
                times.selection += clock.lap()
            }
        }
    }

    /// Zeroes the weights under the mask and puts them into the model.
    private func finish(_ work: MatrixWork, times: inout PrunePhaseTimes) -> MatrixReport {
        var clock = Stopwatch()
        let weights = work.weights
        let zeros = work.mask.withUnsafeBufferPointer { mask in
            mask.isEmpty
                ? shears_prune_count_zeros(weights.buffer.baseAddress!, weights.count)
                : shears_prune_apply_mask(weights.buffer.baseAddress!, mask.baseAddress!, weights.count)
        }
        times.selection += clock.lap()
        let tensor = model.tensor(work.name)!
        model.replace(Tensor(name: work.name, shape: tensor.shape, storage: weights, sourceType: tensor.sourceType))
        return MatrixReport(
            name: work.name, count: weights.count, zeros: zeros, targetSparsity: work.sparsity,
            notes: work.notes)
    }

    /// Embeds the calibration windows (this rank's shard of them in a distributed prune) and makes
    /// the layer forward that runs them, recording the windows, tokens and embedding time in
    /// `report`.
    private func prepareCalibration(
        _ calibration: [[Int32]], _ report: inout PruneReport
    ) throws(PruneError) -> (CalibrationActivations, DecoderLayerForward) {
        var shard = calibration.indices
        if let group {
            guard calibration.count >= group.size else {
                throw PruneError(
                    "\(group.size) MPI ranks need at least \(group.size) calibration windows, got \(calibration.count); "
                        + "give more --samples or fewer ranks")
            }
            shard = group.shard(of: calibration.count)
        }
        let windows = Array(calibration[shard])
        let activations = try CalibrationActivations(
            model: model, windows: windows, firstWindow: shard.lowerBound, cancellation: options.cancellation,
            scratchDirectory: try activationScratch(windows))
        if activations.spilled {
            report.spilledActivationBytes = CalibrationActivations.bytes(
                tokens: activations.tokens, hidden: model.config.hiddenSize)
        }
        report.calibrationWindows = calibration.count
        report.calibrationTokens = calibration.reduce(0) { $0 + $1.count }
        report.times.forwards += activations.captureSeconds
        do { return (activations, try DecoderLayerForward(model: model, capacity: activations.longest)) } catch {
            throw PruneError("calibration: \(error)")
        }
    }

    /// Where the calibration activations go: nil (memory) unless a memory limit was given that
    /// they exceed, then the model's scratch directory. A limit below what one window needs even
    /// then (its activations and a layer's workspace) is refused, with the size needed.
    private func activationScratch(_ calibration: [[Int32]]) throws(PruneError) -> String? {
        guard let limit = options.memoryLimit else { return nil }
        let config = model.config
        let tokens = calibration.reduce(0) { $0 + $1.count }
        let longest = calibration.map(\.count).max() ?? 0
        let needed = CalibrationActivations.bytes(tokens: tokens, hidden: config.hiddenSize)
        // One window's activations and the layer's workspace: q/k/v, gate/up and a block of scores.
        let window =
            CalibrationActivations.bytes(tokens: longest, hidden: config.hiddenSize)
            + longest * (3 * config.hiddenSize + 2 * config.maxFFNSize) * MemoryLayout<Float>.stride
        guard limit >= window else {
            throw PruneError(
                "the memory limit \(MemoryBudget.describe(limit)) is below what one calibration window needs beside "
                    + "the model: \(MemoryBudget.describe(window)) (its activations and a layer's workspace); "
                    + "raise --max-memory or shorten --seqlen")
        }
        return needed + window > limit ? model.scratchDirectory : nil
    }

    private func checkCancellation() throws(PruneError) {
        if let reason = options.cancellation?.reason { throw PruneError(cancelled: reason) }
    }

    /// Records a finished layer in the report, the journal and the callback, and moves a streamed
    /// model's pruned layer to its scratch file.
    private func finish(
        _ layerReport: LayerReport, _ report: inout PruneReport, activations: CalibrationActivations?
    ) throws(PruneError) {
        report.layers.append(layerReport)
        report.times += layerReport.times
        if let journal = options.journal {
            if let activations {
                try activations.withCurrent { current throws(PruneError) in
                    try journal.record(
                        layer: layerReport.layer, report: layerReport, model: model, activations: current)
                }
            } else {
                try journal.record(layer: layerReport.layer, report: layerReport, model: model, activations: nil)
            }
        }
        // After the journal, which may already have taken the layer out of memory.
        do { try model.spill(layer: layerReport.layer) } catch { throw PruneError(error.description) }
        options.onLayer?(layerReport.layer, layerReport)
    }

    /// The journal's checkpoint, its finished layers added to `report` (with this run's plans).
    private func resume(tokens: Int, _ report: inout PruneReport) throws(PruneError) -> PruneCheckpoint? {
        guard let checkpoint = try options.journal?.resume(model: model, tokens: tokens) else { return nil }
        for var layer in checkpoint.layers {
            layer.plan = plans[layer.layer]
            report.layers.append(layer)
            report.times += layer.times
        }
        return checkpoint
    }
}
