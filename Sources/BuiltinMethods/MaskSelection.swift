import Kernels

/// The mask of `work.scores` under `pattern`: per output row exactly `Int(columns · sparsity)`
/// lowest scores, ties to the lower column (unstructured), or the `M − N` lowest of every aligned
/// group of M columns, ties resolved by `ties` (N:M).
///
/// - Throws: `PruneError` when the group size does not divide the input dimension.
func selectMask(
    _ work: MatrixWork, _ pattern: SparsityPattern, ties: GroupTieOrder
) throws(PruneError) -> [UInt8] {
    try pattern.validate(columns: work.columns, name: work.name)
    var mask = [UInt8](repeating: 0, count: work.scores.count)
    work.scores.withUnsafeBufferPointer { scores in
        mask.withUnsafeMutableBufferPointer { out in
            switch pattern {
            case .unstructured:
                var scratch = [Float](repeating: 0, count: work.columns)
                scratch.withUnsafeMutableBufferPointer { tmp in
                    shears_prune_select_rows(scores.baseAddress!, work.rows, work.columns,
                                             work.prunedCount(of: work.columns), out.baseAddress!, tmp.baseAddress!)
                }
            case .nm(let keep, let group):
                switch ties {
                case .torchTopK:
                    shears_prune_select_groups_topk(scores.baseAddress!, work.rows, work.columns, group - keep, group,
                                                    out.baseAddress!)
                case .lowerColumn:
                    shears_prune_select_groups(scores.baseAddress!, work.rows, work.columns, group - keep, group,
                                               out.baseAddress!)
                }
            }
        }
    }
    return mask
}
