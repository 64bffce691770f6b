import PruningEngine

extension PruneMethod {
    /// How RIA compares weights under unstructured sparsity (N:M always compares within groups).
    public enum RIAScope: String, Sendable {
        /// One threshold per matrix, pruning `≤ τ` (the reference default).
        case matrix
        /// Exactly `Int(in · p)` per output row (the reference's `--per_outneuron`).
        case row
    }

    /// RIA: relative importance times `‖X_j‖^a`, selected per matrix (default), per row, or N:M;
    /// `permute` adds the reference's channel reallocation for N:M (`--reallocation`), refined by
    /// linear-sum-assignment rounds when `lsa` is true (the default with `permute`).
    ///
    /// Deviations from the reference, all deliberate: `a` must be ≥ 0; zero row or column sums give
    /// relative importance 0 instead of NaN; ties go to the lower column everywhere (also in the
    /// column-importance sort and within N:M groups, where magnitude and Wanda follow `torch.topk`); the permutation starts from the identity when zig-zag retains less.
    /// `scope` only applies to unstructured sparsity.
    ///
    /// - Throws: `PruneError` for a bad sparsity or exponent, `permute` without an N:M pattern, or
    ///   `lsa` without `permute`.
    public static func ria(
        sparsity: Double?, pattern: SparsityPattern = .unstructured, exponent: Double = 0.5,
        scope: RIAScope = .matrix, permute: Bool = false, lsa: Bool? = nil
    ) throws(PruneError) -> [any PruneStep] {
        let allocator = try UniformSparsity.implied(by: sparsity, pattern: pattern)
        let criterion = try RIAScore(exponent: exponent)
        if permute, pattern == .unstructured {
            throw PruneError("RIA channel permutation needs an N:M pattern (e.g. \"2:4\")")
        }
        if lsa == true, !permute { throw PruneError("RIA lsa refines a channel permutation: it needs permute = true") }
        let selector: any PruneStep =
            switch (pattern, scope) {
            case (.nm, _) where permute: try PermutedGroupSelector(pattern, refine: lsa ?? true)
            case (.nm, _): try GroupSelector(pattern, ties: .lowerColumn)
            case (.unstructured, .matrix): MatrixThresholdSelector(groupTies: .lowerColumn)
            case (.unstructured, .row): RowSelector(groupTies: .lowerColumn)
            }
        return allocator + [criterion, selector]
    }
}
