import BuiltinMethods
import Foundation
import Inference
import LuaRuntime
import ModelIO
import PruningEngine
import Reports

extension RecipeHandles {
    /// `shears.Step`: a pruning step (or chain) made by `shears.wanda{...}` and friends.
    static let step = LuaHandleType<PruneRecipe>("shears.Step")
}

extension ShearsModule {
    /// Registers the `shears.Step` handle, `shears.layer_sparsity`, `shears.prune` and one
    /// function per built-in method or step of `MethodRegistry` (`installMethods`).
    func installPruning(into runtime: LuaRuntime) {
        runtime.register(RecipeHandles.step, describe: { $0.description })
        runtime.register("layer_sparsity") { (call: LuaCall) throws -> [LuaValue] in
            let values = try Self.layerSparsities(call)
            let allocator: LayerSparsity
            do throws(PruneError) { allocator = try LayerSparsity(values) } catch {
                throw LuaArgumentError(argument: 1, error.message)
            }
            return [
                Self.handle(
                    [allocator], "layer_sparsity",
                    [("layers", "\(values.count)"), ("mean", "\(allocator.meanSparsity)")])
            ]
        }
        runtime.register("prune") { [cancellation, recipe] call in
            try Self.prune(call, cancellation: cancellation, command: recipe.command)
        }
        installMethods(into: runtime)
    }

    private static func prune(_ call: LuaCall, cancellation: Cancellation?, command: String) throws -> [LuaValue] {
        let box = try call.handle(1, as: RecipeHandles.model)
        let model = box.model
        let calibration = try call.optionalHandle(2, as: RecipeHandles.calibration)
        if let imatrix = calibration?.imatrix {
            do { try imatrix.check(against: model) } catch { throw LuaArgumentError(argument: 2, error.description) }
        }
        let spec = try call.table(3)
        try spec.checkFields(
            allowed: ["targets", "ignore", "on_layer", "report", "journal", "resume", "max_memory"],
            allowingSequence: true)
        let memoryLimit = try Self.memoryLimit(spec, argument: 3)
        let reportPath = try spec.optionalString("report")
        let journalPath = try spec.optionalString("journal")
        let resume = try spec.boolean("resume", default: false)
        if resume, journalPath == nil {
            throw LuaArgumentError(argument: 3, "resume = true continues a journal: give journal = \"DIRECTORY\" too")
        }
        var recipes: [PruneRecipe] = []
        for index in stride(from: 1, through: spec.count, by: 1) {
            guard let stackIndex = try spec.handleIndex(at: index) else {
                throw LuaArgumentError(argument: 3, "element #\(index) must be a shears.Step, got nil")
            }
            recipes.append(
                try call.handle(Int(stackIndex), as: RecipeHandles.step).resolved(
                    in: call, layers: model.config.layerCount))
        }
        guard !recipes.isEmpty else {
            throw LuaArgumentError(
                argument: 3, "no steps given: pass a list such as { shears.wanda{ sparsity = 0.5 } }")
        }
        let targets = try spec.optionalTable("targets")?.strings()
        let ignore = try spec.optionalTable("ignore")?.strings() ?? []
        let callback = try spec.function("on_layer")
        var callbackError: Error?
        let onLayer: ((Int, LayerReport) -> Void)? = callback.map { index in
            { layer, report in
                guard callbackError == nil else { return }
                do { try call.callFunction(at: index, [.integer(layer), layerTable(report)]) } catch {
                    callbackError = error
                }
            }
        }
        let recorder = reportPath.map { _ in
            RunRecorder(
                model: model, calibrationSource: calibration?.source ?? "none", windows: calibration?.windows ?? [],
                command: command)
        }
        let journal = try journalPath.map { path throws(CommandFailure) in
            // resume = true continues the journal when there is one, so one recipe serves the first
            // run and the run after a crash.
            var identity = PruneJournalDirectory.Identity(
                modelPath: model.sourcePath, recipes: recipes, windows: calibration?.windows ?? [],
                targets: targets ?? [], ignore: ignore)
            if let imatrix = calibration?.imatrix {
                identity.calibration = ImatrixSaving.journalCalibration(imatrix: imatrix.path)
            }
            return try PruneJournalDirectory(
                directory: path, identity: identity,
                resume: resume && FileManager.default.fileExists(atPath: path + "/journal.json"))
        }
        let report: PruneReport
        do {
            report = try PruneSession.run(
                model: model, recipes: recipes, calibration: calibration?.windows ?? [],
                calibrationSource: calibration?.source ?? "none", targets: targets, ignore: ignore, onLayer: onLayer,
                cancellation: cancellation, journal: journal, imatrix: calibration?.imatrix, memoryLimit: memoryLimit)
        } catch {
            guard error.memoryShortfall == nil else {
                throw LuaScriptError(
                    "\(error) (the calibration's samples and seqlen set the windows, shears.prune's max_memory the "
                        + "limit; or choose a criterion without gradients)")
            }
            throw LuaScriptError("\(error)")
        }
        if let journal { box.journal = journal }
        if let callbackError { throw callbackError }
        if let reportPath, let recorder {
            let run = recorder.report(prune: report, model: model, recipes: recipes, outputPath: nil)
            try run.write(to: reportPath)
            box.report = (reportPath, run)
        }
        return [reportTable(report)]
    }

    // MARK: Helpers

    /// `layer_sparsity`'s values: a list `{ s0, s1, ... }`, or `(m, function(layer, layers) ... end)`
    /// called once per decoder layer of `m` (0-based) right away.
    private static func layerSparsities(_ call: LuaCall) throws -> [Double] {
        guard call.isFunction(2) else {
            let list = try call.table(1)
            try list.checkFields(allowed: [], allowingSequence: true)
            return try list.numbers()
        }
        let layers = try call.handle(1, as: RecipeHandles.model).model.config.layerCount
        return try layerNumbers(layers) { layer in
            LuaArgumentError(argument: 2, "the function must return a number (the sparsity of layer \(layer))")
        } value: { layer in
            try call.callFunctionForNumber(at: 2, [.integer(layer), .integer(layers)])
        }
    }

    private static func handle(_ steps: [any PruneStep], _ name: String, _ parameters: [(String, String?)]) -> LuaValue
    {
        .handle(PruneRecipe(steps: steps, description: PruneRecipe.describe(name, parameters)), as: RecipeHandles.step)
    }

    /// A layer's report as a Lua table: its sparsity reached, its target (an allocator's, e.g.
    /// OWL's), the OWL outlier ratio and N:M pattern when planned, error, matrices and time.
    static func layerTable(_ report: LayerReport) -> LuaValue {
        var matrices: [String: LuaValue] = [:]
        for matrix in report.matrices {
            matrices[matrix.name] = [
                "sparsity": .number(matrix.sparsity), "target": .number(matrix.targetSparsity),
                "notes": .array(matrix.notes.map { .string($0) }),
            ]
        }
        let target = report.plan?.sparsity ?? report.matrices.first?.targetSparsity
        return [
            "layer": .integer(report.layer), "error": report.outputError.map { .number($0) } ?? .nil,
            "sparsity": .number(report.sparsity), "target": target.map { .number($0) } ?? .nil,
            "outlier_ratio": report.plan?.measure.map { .number($0) } ?? .nil,
            "pattern": report.plan?.pattern.map { .string($0.description) } ?? .nil,
            "matrices": .table(matrices), "seconds": .number(report.times.total),
        ]
    }

    /// The whole report as a Lua table.
    static func reportTable(_ report: PruneReport) -> LuaValue {
        [
            "sparsity": .number(report.sparsity), "seconds": .number(report.seconds),
            "steps": .array(report.steps.map { .string($0) }),
            "times": [
                "forwards": .number(report.times.forwards), "statistics": .number(report.times.statistics),
                "selection": .number(report.times.selection), "reconstruction": .number(report.times.reconstruction),
                "gradients": .number(report.times.gradients),
            ],
            "layers": .array(report.layers.map(layerTable)),
            "calibration_windows": .integer(report.calibrationWindows),
            "calibration_tokens": .integer(report.calibrationTokens),
            "removed_blocks": .array(report.modelSteps.flatMap(\.removedBlocks).map { .integer($0) }),
            "model_notes": .array(report.modelSteps.flatMap(\.notes).map { .string($0) }),
            // Block b's score at index b + 1 (every block of the model as the step found it).
            "block_scores": .array(
                (report.modelSteps.first { !$0.blockScores.isEmpty }?.blockScores.sorted { $0.key < $1.key } ?? [])
                    .map { .number($0.value) }),
        ]
    }
}
