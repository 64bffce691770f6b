import PruningEngine

/// Selector: per output row, exactly `Int(columns · sparsity)` weights with the lowest scores,
/// ties going to the lower column (the reference's stable ascending sort). Wanda's default
/// comparison group and per-row magnitude. When an allocator set an N:M `MatrixWork.pattern`
/// (OWL's per-layer N:M) it selects by that pattern instead, equal scores resolved by `groupTies`.
public struct RowSelector: PruneStep {
    /// How equal scores within a group are resolved when an allocator set an N:M pattern.
    public let groupTies: GroupTieOrder
    /// "per-row".
    public var name: String { "per-row" }
    /// Selector.
    public var stage: PruneStage { .selector }
    /// None.
    public var requirement: StatisticsRequirement { [] }

    /// Creates the selector.
    public init(groupTies: GroupTieOrder = .torchTopK) {
        self.groupTies = groupTies
    }

    /// Sets `work.mask` from `work.scores`.
    public func run(_ work: MatrixWork) throws(PruneError) {
        try work.requireScores(for: name)
        work.mask = try MaskSelection.select(work, work.pattern ?? .unstructured, ties: groupTies)
    }
}
