import Kernels

/// Selector: per output row, exactly `Int(columns · sparsity)` weights with the lowest scores,
/// ties going to the lower column (the reference's stable ascending sort). Wanda's default
/// comparison group and per-row magnitude.
public struct RowSelector: PruneStep {
    /// "per-row".
    public var name: String { "per-row" }
    /// Selector.
    public var stage: PruneStage { .selector }
    /// None.
    public var requirement: StatisticsRequirement { [] }

    /// Creates the selector.
    public init() {}

    /// Sets `work.mask` from `work.scores`.
    public func run(_ work: MatrixWork) throws(PruneError) {
        try requireScores(work, name)
        let k = work.prunedCount(of: work.columns)
        var mask = [UInt8](repeating: 0, count: work.scores.count)
        var scratch = [Float](repeating: 0, count: work.columns)
        work.scores.withUnsafeBufferPointer { scores in
            mask.withUnsafeMutableBufferPointer { out in
                scratch.withUnsafeMutableBufferPointer { tmp in
                    shears_prune_select_rows(scores.baseAddress!, work.rows, work.columns, k, out.baseAddress!,
                                             tmp.baseAddress!)
                }
            }
        }
        work.mask = mask
    }
}

/// Throws unless a criterion has filled `work.scores`.
func requireScores(_ work: MatrixWork, _ step: String) throws(PruneError) {
    guard work.scores.count == work.rows * work.columns else {
        throw PruneError("\(work.name): step \(step) needs scores from a criterion step before it")
    }
}
