import BuiltinMethods
import ModelIO
import PluginHost
import PruningEngine
import TestSupport
import Testing

/// Plugin selectors and N:M patterns: validation against the column count, the pattern an
/// allocator sets per matrix (OWL), and the pattern recorded for refiners (DSnoT).
@Suite("plugin steps and patterns")
struct PluginPatternTests {
    /// A `rows × columns` matrix with seeded random scores and sparsity 0.5.
    static func work(rows: Int, columns: Int, pattern: SparsityPattern? = nil, seed: UInt64 = 5) -> MatrixWork {
        var rng = SplitMix64(seed: seed)
        let work = MatrixWork(
            name: "m", layer: 0, part: .up, rows: rows, columns: columns,
            weights: TensorStorage(zeros: rows * columns), statistics: nil)
        work.sparsity = 0.5
        work.pattern = pattern
        work.scores = (0..<rows * columns).map { _ in Float(rng.next() % 50) }
        return work
    }

    static func selectCriterion() throws -> PluginCriterion {
        try PluginCriterion(library: try BuiltPlugins.load("ShearsFixtureSelect"), id: "row_select")
    }

    @Test("the plugin's select is not called for an N:M pattern whose M does not divide the columns")
    func selectValidatesPattern() throws {
        let criterion = try Self.selectCriterion()
        let step = try PluginSelectorStep(criterion, pattern: .nm(keep: 3, group: 7))
        #expect(
            throws: PruneError(
                "plugin \(criterion.library.path): criterion 'row_select': m: N:M pattern 3:7 needs M to divide the input dimension 10"
            )
        ) {
            try step.run(Self.work(rows: 4, columns: 10))
        }
    }

    @Test("maskProblem reports a group size that does not divide the columns and a mask of the wrong length")
    func maskProblemGuards() {
        let mask = [UInt8](repeating: 0, count: 40)
        mask.withUnsafeBufferPointer { flags in
            #expect(
                PluginScoreCheck.maskProblem(
                    flags, rows: 4, columns: 10, sparsity: 4.0 / 7, pattern: .nm(keep: 3, group: 7))
                    == "N:M pattern 3:7 needs M to divide the input dimension 10")
            #expect(
                PluginScoreCheck.maskProblem(flags, rows: 5, columns: 10, sparsity: 0.5, pattern: .unstructured)
                    == "the mask has 40 flags, not 5 × 10")
        }
    }

    @Test("a plugin select follows an allocator's per-matrix pattern and records the N:M pattern it kept")
    func selectFollowsAllocatorPattern() throws {
        let criterion = try Self.selectCriterion()
        let allocated = Self.work(rows: 6, columns: 16, pattern: .nm(keep: 1, group: 4))
        try PluginSelectorStep(criterion).run(allocated)
        let reference = Self.work(rows: 6, columns: 16)
        try GroupSelector(.nm(keep: 1, group: 4)).run(reference)
        #expect(allocated.mask == reference.mask)
        #expect(allocated.pattern == .nm(keep: 1, group: 4))
        let own = Self.work(rows: 6, columns: 16)
        try PluginSelectorStep(criterion, pattern: .nm(keep: 2, group: 4)).run(own)
        #expect(own.pattern == .nm(keep: 2, group: 4))
    }

    @Test(
        "the checked selector follows an allocator's pattern and records N:M like the built-in selectors",
        arguments: [SparsityPattern?.none, .nm(keep: 1, group: 4), .unstructured])
    func checkedSelectorFollowsPattern(allocated: SparsityPattern?) throws {
        let criterion = try PluginCriterion(library: try BuiltPlugins.load("ShearsWandaPlugin"), id: "wanda")
        let builtins: [(PluginCheckedSelector.Rule, any PruneStep)] = [
            (.row, RowSelector()), (.matrix, MatrixThresholdSelector()),
            (.groups(.nm(keep: 2, group: 4)), try GroupSelector(.nm(keep: 2, group: 4))),
        ]
        for (rule, builtin) in builtins {
            let viaPlugin = Self.work(rows: 9, columns: 32, pattern: allocated)
            try PluginCheckedSelector(criterion, rule: rule).run(viaPlugin)
            let viaBuiltin = Self.work(rows: 9, columns: 32, pattern: allocated)
            try builtin.run(viaBuiltin)
            #expect(viaPlugin.mask == viaBuiltin.mask, "\(rule)")
            let expected: SparsityPattern? =
                switch (allocated, rule) {
                case (.some(let pattern), _): pattern
                case (nil, .groups(let pattern)): pattern
                default: nil
                }
            #expect(viaPlugin.pattern == expected, "\(rule)")
        }
    }

    @Test("plugin steps without a sparsity follow OWL like the built-in Wanda; N:M then DSnoT matches too")
    func afterAllocator() throws {
        let wanda = try PluginCriterion(library: try BuiltPlugins.load("ShearsWandaPlugin"), id: "wanda")
        let viaPlugin = try PluginMethod.steps(wanda, sparsity: nil)
        #expect(viaPlugin.count == 2)
        for owl in [
            try PruneMethod.owl(sparsity: 0.6, outlierMultiplier: 2),
            try PruneMethod.owl(sparsity: nil, pattern: .nm(keep: 4, group: 8), outlierMultiplier: 2, lambda: 2),
        ] {
            let same =
                try PluginStepTests.prune(owl + viaPlugin)
                == PluginStepTests.prune(owl + PruneMethod.wanda(sparsity: nil))
            #expect(same, "\(owl[0].name)")
        }
        let twoFour = SparsityPattern.nm(keep: 2, group: 4)
        let dsnot = try PruneMethod.dsnot()
        let refined =
            try PluginStepTests.prune(PluginMethod.steps(wanda, sparsity: nil, pattern: twoFour) + dsnot)
            == PluginStepTests.prune(PruneMethod.wanda(sparsity: nil, pattern: twoFour) + dsnot)
        #expect(refined)
    }

    @Test("undeclared statistics reach the plugin as absent views, even when other steps gathered them")
    func absentViews() throws {
        let criterion = try PluginCriterion(library: try BuiltPlugins.load("ShearsFixtureAbsent"), id: "norms_only")
        let steps: [any PruneStep] = [try UniformSparsity(0.5), PluginCriterionStep(criterion), RowSelector()]
        _ = try PluginStepTests.prune(steps)
        // DSnoT gathers moments: the plugin, declaring squared norms only, must still see no sums.
        _ = try PluginStepTests.prune(steps + PruneMethod.dsnot())
        let results = try PluginConformance.check(criterion.library, timingRuns: 1)
        #expect(!results.contains { $0.outcome == .fail }, "\(results.filter { $0.outcome == .fail })")
    }
}
