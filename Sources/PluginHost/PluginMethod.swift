import PruningEngine

/// A plugin criterion as a complete method: allocator, criterion and selector, like
/// the built-in Wanda method for the built-in criterion.
public enum PluginMethod {
    /// How the scores become a mask (an N:M pattern always uses the N:M selector, or the
    /// plugin's `select` when chosen).
    public enum Selection: String, Sendable, CaseIterable {
        /// Exactly `Int(columns · sparsity)` lowest scores per output row (the default).
        case row
        /// One threshold for the whole matrix.
        case matrix
        /// The criterion's own `select` (the default when it has one).
        case plugin
    }

    /// `[uniform allocator, plugin criterion, selector]` for `criterion`, with the allocator of
    /// `UniformSparsity.implied(by:pattern:)`, as the built-in methods.
    ///
    /// For an N:M `pattern` the sparsity is implied (`1 − N/M`); pass nil or that value.
    /// Unstructured with `sparsity: nil` there is no allocator: put one in front (`owl`,
    /// `layerSparsity`), whose per-matrix targets and N:M patterns the selector then follows.
    /// `selection` nil means `.plugin` when the criterion has `select`, else `.row`.
    ///
    /// - Throws: `PluginError` naming the plugin and criterion for a bad sparsity or pattern, a
    ///   sparsity contradicting the pattern, `.matrix` with a pattern, or `.plugin` without `select`.
    public static func steps(
        _ criterion: PluginCriterion, sparsity: Double?, pattern: SparsityPattern = .unstructured,
        selection: Selection? = nil
    ) throws(PluginError) -> [any PruneStep] {
        let allocator: [any PruneStep]
        do throws(PruneError) {
            allocator = try UniformSparsity.implied(by: sparsity, pattern: pattern)
        } catch {
            throw criterion.error(error.message)
        }
        let chosen = selection ?? (criterion.hasSelect ? .plugin : .row)
        // With a built-in selection the selector checks the scores for NaN as it goes.
        let scorer = PluginCriterionStep(criterion, pattern: pattern, checksScores: chosen == .plugin)
        switch (chosen, pattern) {
        case (.plugin, _):
            return allocator + [scorer, try PluginSelectorStep(criterion, pattern: pattern)]
        case (.matrix, .nm):
            throw criterion.error("selector 'matrix' cannot keep an N:M pattern; leave the selector out")
        case (_, .nm):
            return allocator + [scorer, try PluginCheckedSelector(criterion, rule: .groups(pattern))]
        case (.row, .unstructured):
            return allocator + [scorer, try PluginCheckedSelector(criterion, rule: .row)]
        case (.matrix, .unstructured):
            return allocator + [scorer, try PluginCheckedSelector(criterion, rule: .matrix)]
        }
    }
}
