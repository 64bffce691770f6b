import Kernels

/// Selector: an N:M pattern, keeping at most N weights in every aligned group of M input
/// columns: the `M − N` lowest scores of each group are pruned, ties to the lower column.
public struct GroupSelector: PruneStep {
    /// The N:M pattern.
    public let pattern: SparsityPattern
    /// "N:M".
    public var name: String { pattern.description }
    /// Selector.
    public var stage: PruneStage { .selector }
    /// None.
    public var requirement: StatisticsRequirement { [] }

    /// - Throws: `PruneError` if `pattern` is unstructured or not `0 < N < M ≤ 64`.
    public init(_ pattern: SparsityPattern) throws(PruneError) {
        guard pattern.prunedPerGroup != nil else { throw PruneError("the group selector needs an N:M pattern") }
        self.pattern = try pattern.validated()
    }

    /// Sets `work.mask` from `work.scores`.
    public func run(_ work: MatrixWork) throws(PruneError) {
        try requireScores(work, name)
        try pattern.validate(columns: work.columns, name: work.name)
        guard case .nm(let keep, let group) = pattern else { return }
        var mask = [UInt8](repeating: 0, count: work.scores.count)
        work.scores.withUnsafeBufferPointer { scores in
            mask.withUnsafeMutableBufferPointer { out in
                shears_prune_select_groups(scores.baseAddress!, work.rows, work.columns, group - keep, group,
                                           out.baseAddress!)
            }
        }
        work.mask = mask
    }
}
