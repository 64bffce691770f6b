/// How an N:M selector orders equal scores inside a group.
public enum GroupTieOrder: String, Sendable {
    /// As the reference code's `torch.topk(group, M − N, largest=False)` on CPU (Wanda's and
    /// SparseGPT's repositories, for magnitude and Wanda): the entries libstdc++'s `nth_element`
    /// leaves in front, a fixed function of the group's values that is not "lower column first"
    /// (of four equal scores it prunes columns 2 and 3). It matters for quantised weights, whose
    /// magnitudes tie often within a group.
    case torchTopK
    /// The lower column first (a stable ascending sort).
    case lowerColumn
}

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
        try requireScores(work, name)
        let chosen = work.pattern ?? pattern
        work.mask = try selectMask(work, chosen, ties: ties)
        work.pattern = chosen
    }
}
