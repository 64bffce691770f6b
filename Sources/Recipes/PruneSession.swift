import Foundation
import Inference
import LuaRuntime
import ModelIO
import PruningEngine

/// A chain of pruning steps with the text that describes it (`wanda(sparsity=0.5, pattern=2:4)`).
package final class PruneRecipe {
    /// The engine's steps, in order.
    package let steps: [any PruneStep]
    /// How a user wrote it, for logs and provenance.
    package let description: String
    /// Set when a parameter is a Lua function of the layer (`ratio = function(layer, layers)`):
    /// makes the final recipe, in a call of the same runtime, for a model of the given number of
    /// layers; `steps` is then empty. Nil: `steps` are final.
    package let resolve: ((LuaCall, Int) throws -> PruneRecipe)?

    package init(
        steps: [any PruneStep], description: String, resolve: ((LuaCall, Int) throws -> PruneRecipe)? = nil
    ) {
        self.steps = steps
        self.description = description
        self.resolve = resolve
    }

    /// This recipe with its per-layer functions called for a model of `layers` layers (itself
    /// when it has none).
    ///
    /// - Throws: the function's error, or `LuaArgumentError` when it returns no number.
    package func resolved(in call: LuaCall, layers: Int) throws -> PruneRecipe {
        try resolve?(call, layers) ?? self
    }

    /// `name(key=value, ...)` with the given parameters (nil values left out).
    package static func describe(_ name: String, _ parameters: [(String, String?)]) -> String {
        "\(name)(" + parameters.compactMap { key, value in value.map { "\(key)=\($0)" } }.joined(separator: ", ") + ")"
    }
}

/// Runs the pruning engine on a model with a per-layer progress bar and records provenance in the
/// model's metadata, for both `shears prune` and `shears.prune` in recipes.
package enum PruneSession {
    /// Prunes `model` in place with `recipes` (their steps concatenated, the one allocator moved
    /// to the front of the layer steps) on `calibration`.
    ///
    /// Afterwards the model's metadata holds `shears.steps`, `shears.calibration` and
    /// `shears.sparsity`, which writers carry into the saved file.
    ///
    /// With `benchmark`, the prune runs under `PruneBenchmark` (the sgemm rate measured first in
    /// the same process), which hands it its measurements; provenance is recorded either way.
    /// With `journal`, every finished layer is recorded there, and the prune continues from the
    /// journal's checkpoint when it has one. With `imatrix`, the per-input statistics come from
    /// it and no calibration forward runs (`PruneOptions.imatrix`). `memoryLimit` bounds the
    /// gradient computations and the activations in memory (`PruneOptions.memoryLimit`; nil:
    /// physical memory less the model). `processGroup`: the ranks of a data-parallel prune, each
    /// passing the same `calibration` (`PruneOptions.processGroup`).
    ///
    /// - Throws: `PruneError`, naming the recipes when none or more than one gives the sparsity of a
    ///   chain that prunes matrices, or carrying the reason when `cancellation` stops it.
    package static func run(
        model: Model, recipes: [PruneRecipe], calibration: [[Int32]], calibrationSource: String,
        targets: [String]?, ignore: [String], onLayer: ((Int, LayerReport) -> Void)? = nil,
        benchmark: ((PruneBenchmarkReport) -> Void)? = nil, cancellation: Cancellation? = nil,
        journal: (any PruneJournal)? = nil, imatrix: ImportanceMatrix? = nil, memoryLimit: Int? = nil,
        processGroup: (any ProcessGroup)? = nil
    ) throws(PruneError) -> PruneReport {
        let allocating = recipes.filter { recipe in recipe.steps.contains { $0.stage == .allocator } }
        let prunesMatrices = recipes.contains { recipe in recipe.steps.contains { $0.stage != .model } }
        if allocating.isEmpty, prunesMatrices {
            throw PruneError("no sparsity: give sparsity = ... or put an allocator such as shears.owl{...} first")
        }
        if allocating.count > 1 {
            throw PruneError("sparsity given twice: by \(allocating[0].description) and \(allocating[1].description)")
        }
        var options = PruneOptions()
        if let targets { options.targets = targets.map(TensorNamePattern.init) }
        options.ignore = ignore.map(TensorNamePattern.init)
        let bar = ProgressBar("prune", total: model.config.layerCount, unit: "layer")
        options.progress = { progress in bar.update(done: progress.layersDone, work: Double(progress.layersDone)) }
        var phase: (label: String, bar: ProgressBar)?
        options.stepProgress = { progress in
            let label = "\(progress.step) \(progress.phase)"
            if phase?.label != label { phase = (label, ProgressBar(label, total: progress.total, unit: progress.unit)) }
            phase!.bar.update(done: progress.done, work: Double(progress.done))
            if progress.done >= progress.total {
                phase!.bar.finish()
                phase = nil
            }
        }
        options.onLayer = onLayer
        options.cancellation = cancellation
        options.journal = journal
        options.imatrix = imatrix
        options.memoryLimit = memoryLimit
        options.processGroup = processGroup
        // The chain's one allocator goes first wherever its recipe stands, so that a later step may
        // carry the sparsity: { shears.wanda{}, shears.besa{ sparsity = 0.5 } }.
        let given = recipes.flatMap(\.steps)
        let steps =
            given.filter { $0.stage == .model } + given.filter { $0.stage == .allocator }
            + given.filter { $0.stage > .allocator }
        let report: PruneReport
        if let benchmark {
            let measured = try PruneBenchmark.run(
                model: model, steps: steps, calibration: calibration, options: options)
            benchmark(measured)
            report = measured.prune
        } else {
            report = try Pruner(model: model, steps: steps, options: options).run(calibration: calibration)
        }
        bar.finish()
        record(
            in: model, steps: recipes.map(\.description).joined(separator: " + "), calibration: calibrationSource,
            sparsity: ModelStatistics.modelSparsity(model).linear)
        return report
    }

    /// Appends this prune to the model's provenance keys.
    private static func record(in model: Model, steps: String, calibration: String, sparsity: Double) {
        func append(_ key: String, _ value: String) {
            let previous = model.metadata[key]?.string
            model.metadata[key] = .string(previous.map { "\($0); \(value)" } ?? value)
        }
        append("shears.steps", steps)
        append("shears.calibration", calibration)
        model.metadata["shears.sparsity"] = .string(String(format: "%.6f", sparsity))
    }
}
