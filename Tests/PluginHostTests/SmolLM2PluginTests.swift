import BuiltinMethods
import Foundation
import ModelIO
import PluginHost
import PruningEngine
import TestSupport
import Testing

/// The C Wanda example against the built-in Wanda on SmolLM2 with the 64 reference calibration
/// windows: in one pruning run, every matrix of every layer is scored and selected both ways from
/// the same weights and statistics, and the masks must be identical.
@Suite("C Wanda plugin on SmolLM2", .enabled(if: ReferenceData.hasModel && ReferenceData.hasData), .serialized)
struct SmolLM2PluginTests {
    /// Runs the built-in chain and the plugin chain on each matrix, counts differing masks, and
    /// leaves the built-in mask for the engine.
    final class MaskComparison: PruneStep, @unchecked Sendable {
        // @unchecked Sendable: the engine runs steps on one thread; the counters are read after it.
        let builtin: [any PruneStep]
        let plugin: [any PruneStep]
        var matrices = 0
        var differing: [String] = []

        init(builtin: [any PruneStep], plugin: [any PruneStep]) {
            self.builtin = builtin
            self.plugin = plugin
        }

        var name: String { "compare" }
        var stage: PruneStage { .selector }
        var requirement: StatisticsRequirement { .squaredNorms }

        func run(_ work: MatrixWork) throws(PruneError) {
            for step in plugin { try step.run(work) }
            let pluginMask = work.mask
            for step in builtin { try step.run(work) }
            matrices += 1
            if work.mask != pluginMask { differing.append(work.name) }
        }
    }

    static func calibration() throws -> [[Int32]] {
        let ids = try ReferenceData.int32s("wikitext2-valid.smollm2-ids.i32")
        let text = try String(
            contentsOf: ReferenceData.file("wikitext2-valid.calib-64x512-seed0.offsets"), encoding: .utf8)
        return text.split(whereSeparator: \.isNewline).map { Array(ids[Int($0)!..<Int($0)! + 512]) }
    }

    @Test(
        "identical masks: unstructured 50% per row and 2:4",
        arguments: [SparsityPattern.unstructured, .nm(keep: 2, group: 4)])
    func identicalMasks(pattern: SparsityPattern) throws {
        let criterion = try PluginCriterion(library: try BuiltPlugins.load("ShearsWandaPlugin"), id: "wanda")
        let sparsity: Double? = pattern == .unstructured ? 0.5 : nil
        let builtin = try PruneMethod.wanda(sparsity: sparsity, pattern: pattern)
        let plugin = try PluginMethod.steps(criterion, sparsity: sparsity, pattern: pattern)
        let comparison = MaskComparison(builtin: Array(builtin.dropFirst()), plugin: Array(plugin.dropFirst()))
        let model = try ModelLoader.load(path: ReferenceData.modelPath)
        _ = try Pruner(model: model, steps: [builtin[0], comparison]).run(calibration: try Self.calibration())
        #expect(comparison.matrices == model.config.layerCount * 7)
        #expect(comparison.differing.isEmpty, "masks differ in \(comparison.differing)")
    }
}
