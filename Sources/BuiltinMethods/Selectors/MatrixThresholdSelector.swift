import PruningEngine

/// Selector: one threshold for the whole matrix, `τ = sorted(scores)[Int(count · sparsity)]`,
/// pruning every score `≤ τ` — the reference magnitude baseline's rule, which prunes one weight
/// more than the nominal count (plus any ties with τ). Sparsity 0 prunes nothing. When an
/// allocator set an N:M `MatrixWork.pattern` (OWL's per-layer N:M) it selects by that pattern,
/// equal scores resolved by `groupTies`.
public struct MatrixThresholdSelector: PruneStep {
    /// How equal scores within a group are resolved when an allocator set an N:M pattern.
    public let groupTies: GroupTieOrder
    /// "per-matrix".
    public var name: String { "per-matrix" }
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
        work.mask = try MaskSelection.matrixThreshold(work, groupTies: groupTies)
    }
}
