import PruningEngine

/// Selector: an N:M pattern, keeping at most N weights in every aligned group of M input
/// columns: the `M − N` lowest scores of each group are pruned, equal scores resolved by `ties`.
/// A pattern an allocator set in `MatrixWork.pattern` (OWL's per-layer N:M) takes precedence;
/// otherwise the selector records its own there for later steps.
public struct GroupSelector: PruneStep {
    /// The N:M pattern.
    public let pattern: SparsityPattern
    /// How equal scores within a group are resolved.
    public let ties: GroupTieOrder
    /// "N:M".
    public var name: String { pattern.description }
    /// Selector.
    public var stage: PruneStage { .selector }
    /// None.
    public var requirement: StatisticsRequirement { [] }

    /// - Throws: `PruneError` if `pattern` is unstructured or not `0 < N < M ≤ 64`.
    public init(_ pattern: SparsityPattern, ties: GroupTieOrder = .torchTopK) throws(PruneError) {
        guard pattern.prunedPerGroup != nil else { throw PruneError("the group selector needs an N:M pattern") }
        self.pattern = try pattern.validated()
        self.ties = ties
    }

    /// Sets `work.mask` from `work.scores`.
    public func run(_ work: MatrixWork) throws(PruneError) {
        try work.requireScores(for: name)
        let chosen = work.pattern ?? pattern
        work.mask = try MaskSelection.select(work, chosen, ties: ties)
        work.pattern = chosen
    }
}
