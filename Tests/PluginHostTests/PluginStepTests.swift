import BuiltinMethods
import Foundation
import Inference
import ModelIO
import PluginHost
import PruningEngine
import TestSupport
import Testing

/// Plugin criteria as pruning steps on tiny models: same masks as the built-in steps, every
/// selector, reconstruction after them, and failures that stop the engine with a clear message.
@Suite("plugin steps")
struct PluginStepTests {
    static func windows(_ count: Int = 3, length: Int = 12, seed: UInt64 = 9) -> [[Int32]] {
        var rng = SplitMix64(seed: seed)
        return (0..<count).map { _ in (0..<length).map { _ in Int32(rng.next() % 300) } }
    }

    /// Prunes a fresh tiny model with `steps` and returns its linear weights by name.
    static func prune(_ steps: [any PruneStep]) throws -> [String: [Float]] {
        let model = try TinyModel.make()
        _ = try Pruner(model: model, steps: steps).run(calibration: windows())
        var weights: [String: [Float]] = [:]
        for name in model.tensorNames where name.hasPrefix("blk.") && model.tensor(name)!.shape.count == 2 {
            weights[name] = model.tensor(name)!.storage.array
        }
        return weights
    }

    static func wanda(
        _ selection: PluginMethod.Selection? = nil, pattern: SparsityPattern = .unstructured
    ) throws -> [any PruneStep] {
        let criterion = try PluginCriterion(library: try BuiltPlugins.load("ShearsWandaPlugin"), id: "wanda")
        return try PluginMethod.steps(
            criterion, sparsity: pattern == .unstructured ? 0.5 : nil, pattern: pattern, selection: selection)
    }

    @Test("the C Wanda plugin prunes exactly like the built-in Wanda: per row, per matrix and 2:4")
    func sameAsBuiltin() throws {
        let perRow = try Self.prune(Self.wanda()) == Self.prune(PruneMethod.wanda(sparsity: 0.5))
        #expect(perRow)
        let twoFour =
            try Self.prune(Self.wanda(pattern: .nm(keep: 2, group: 4)))
            == Self.prune(PruneMethod.wanda(sparsity: nil, pattern: .nm(keep: 2, group: 4)))
        #expect(twoFour)
        let builtinMatrix: [any PruneStep] = [try UniformSparsity(0.5), WandaScore(), MatrixThresholdSelector()]
        let perMatrix = try Self.prune(Self.wanda(.matrix)) == Self.prune(builtinMatrix)
        #expect(perMatrix)
    }

    @Test("reconstruction after a plugin criterion matches reconstruction after the built-in one")
    func reconstructionAfter() throws {
        let reconstruct = try SparseGPTReconstructor(maskSource: .fixedMask)
        // OpenBLAS's rounding follows its process-wide thread count, which forward passes of tests
        // running beside this one change; both sides run with it pinned, so they must agree bit
        // for bit.
        let (plugin, builtin) = try BLASThreads.singleThreaded {
            (
                try Self.prune(Self.wanda() + [reconstruct]),
                try Self.prune(PruneMethod.wanda(sparsity: 0.5) + [reconstruct])
            )
        }
        #expect(plugin.keys.sorted() == builtin.keys.sorted())
        for (name, weights) in plugin {
            #expect(weights == builtin[name]!, "\(name): re-fitted weights differ")
        }
    }

    @Test("a plugin's own select is used and its masks are checked")
    func ownSelect() throws {
        let library = try BuiltPlugins.load("ShearsFixtureSelect")
        let good = try PluginCriterion(library: library, id: "row_select")
        let steps = try PluginMethod.steps(good, sparsity: 0.5)
        #expect(steps.last is PluginSelectorStep)
        let same = try Self.prune(steps) == Self.prune(PruneMethod.magnitude(sparsity: 0.5, scope: .row))
        #expect(same)
        let miscount = try PluginCriterion(library: library, id: "row_select", parameters: ["miscount": .boolean(true)])
        let error = #expect(throws: PruneError.self) { try Self.prune(PluginMethod.steps(miscount, sparsity: 0.5)) }
        #expect(
            error?.message.hasPrefix(
                "plugin \(library.path): criterion 'row_select': select wrote a bad mask for blk.0.attn_q.weight: prunes 511 of 1024 weights, not 512"
            ) == true,
            "\(String(describing: error))")
    }

    @Test(
        "NaN scores stop pruning, naming plugin, criterion, tensor, row and column",
        arguments: [PluginMethod.Selection.row, .matrix])
    func nanScores(selection: PluginMethod.Selection) throws {
        let library = try BuiltPlugins.load("ShearsFixtureNaNScores")
        let steps = try PluginMethod.steps(
            try PluginCriterion(library: library, id: "nan"), sparsity: 0.5, selection: selection)
        #expect(
            throws: PruneError(
                "plugin \(library.path): criterion 'nan': score wrote NaN for blk.0.attn_q.weight at row 31, column 31")
        ) {
            try Self.prune(steps)
        }
    }

    @Test("a criterion step on its own checks NaN too")
    func standaloneCheck() throws {
        let library = try BuiltPlugins.load("ShearsFixtureNaNScores")
        let steps: [any PruneStep] = [
            try UniformSparsity(0.5), PluginCriterionStep(try PluginCriterion(library: library, id: "nan")),
            RowSelector(),
        ]
        #expect(
            throws: PruneError(
                "plugin \(library.path): criterion 'nan': score wrote NaN for blk.0.attn_q.weight at row 31, column 31")
        ) {
            try Self.prune(steps)
        }
    }

    @Test("a score error stops pruning with the plugin's message")
    func scoreError() throws {
        let library = try BuiltPlugins.load("ShearsFixtureScoreError")
        let steps = try PluginMethod.steps(try PluginCriterion(library: library, id: "refuse"), sparsity: 0.5)
        #expect(
            throws: PruneError(
                "plugin \(library.path): criterion 'refuse': score failed on blk.0.attn_q.weight: INVALID_ARGUMENT: fixture: score refuses every matrix"
            )
        ) {
            try Self.prune(steps)
        }
    }

    @Test("bad step options name the plugin and criterion")
    func badOptions() throws {
        let criterion = try PluginCriterion(library: try BuiltPlugins.load("ShearsWandaPlugin"), id: "wanda")
        let path = criterion.library.path
        #expect(throws: PluginError(plugin: path, criterion: "wanda", "sparsity 1.5 is outside [0, 1)")) {
            try PluginMethod.steps(criterion, sparsity: 1.5)
        }
        #expect(
            throws: PluginError(
                plugin: path, criterion: "wanda", "sparsity 0.7 contradicts pattern 2:4 (which implies 0.5)")
        ) {
            try PluginMethod.steps(criterion, sparsity: 0.7, pattern: .nm(keep: 2, group: 4))
        }
        #expect(throws: PluginError(plugin: path, criterion: "wanda", "the criterion has no select function")) {
            try PluginMethod.steps(criterion, sparsity: 0.5, selection: .plugin)
        }
    }

    @Test("the checked selector gives the built-in selectors' masks on random scores, ties included")
    func checkedSelector() throws {
        let criterion = try PluginCriterion(library: try BuiltPlugins.load("ShearsWandaPlugin"), id: "wanda")
        var rng = SplitMix64(seed: 3)
        for (rows, columns) in [(1, 8), (37, 64), (300, 96), (5, 20_000)] {
            let scores = (0..<rows * columns).map { _ in Float(rng.next() % 50) }
            func mask(_ step: any PruneStep) throws -> [UInt8] {
                let work = MatrixWork(
                    name: "m", layer: 0, part: .up, rows: rows, columns: columns,
                    weights: TensorStorage(zeros: rows * columns), statistics: nil)
                work.sparsity = 0.5
                work.scores = scores
                try step.run(work)
                return work.mask
            }
            #expect(try mask(PluginCheckedSelector(criterion, rule: .row)) == mask(RowSelector()))
            #expect(try mask(PluginCheckedSelector(criterion, rule: .matrix)) == mask(MatrixThresholdSelector()))
            #expect(
                try mask(PluginCheckedSelector(criterion, rule: .groups(.nm(keep: 2, group: 4))))
                    == mask(GroupSelector(.nm(keep: 2, group: 4))))
        }
    }
}
