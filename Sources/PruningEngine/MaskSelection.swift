import Kernels

/// How an N:M selection orders equal scores inside a group.
public enum GroupTieOrder: String, Sendable {
    /// As the reference code's `torch.topk(group, M − N, largest=False)` on CPU (the Wanda
    /// repository's magnitude and Wanda, and the OWL and DSnoT forks of it): the entries libstdc++'s
    /// `nth_element` leaves in front, a fixed function of the group's values that is not "lower
    /// column first" (of four equal scores it prunes columns 2 and 3). It matters for quantised
    /// weights, whose magnitudes tie often within a group.
    case torchTopK
    /// The lower column first (a stable ascending sort).
    case lowerColumn
}

/// The selection rules that turn `MatrixWork.scores` into a mask, shared by the built-in selector
/// steps and the plugin host's checked selector.
package enum MaskSelection {
    /// Per output row exactly `Int(columns · sparsity)` lowest scores, ties to the lower column
    /// (unstructured), or the `M − N` lowest of every aligned group of M columns, equal scores
    /// resolved by `ties` (N:M).
    ///
    /// - Throws: `PruneError` when the group size does not divide the input dimension.
    package static func select(
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
                        shears_prune_select_rows(
                            scores.baseAddress!, work.rows, work.columns,
                            work.prunedCount(of: work.columns), out.baseAddress!, tmp.baseAddress!)
                    }
                case .nm(let keep, let group):
                    switch ties {
                    case .torchTopK:
                        shears_prune_select_groups_topk(
                            scores.baseAddress!, work.rows, work.columns, group - keep,
                            group, out.baseAddress!)
                    case .lowerColumn:
                        shears_prune_select_groups(
                            scores.baseAddress!, work.rows, work.columns, group - keep, group,
                            out.baseAddress!)
                    }
                }
            }
        }
        return mask
    }

    /// One threshold for the whole matrix, `τ = sorted(scores)[Int(count · sparsity)]`, pruning
    /// every score `≤ τ` (nothing at sparsity 0); an N:M `work.pattern` an allocator set takes
    /// precedence (`select(_:_:ties:)` with it and `groupTies`).
    ///
    /// - Throws: `PruneError` when an allocated group size does not divide the input dimension.
    package static func matrixThreshold(_ work: MatrixWork, groupTies: GroupTieOrder) throws(PruneError) -> [UInt8] {
        if let pattern = work.pattern { return try select(work, pattern, ties: groupTies) }
        var mask = [UInt8](repeating: 0, count: work.scores.count)
        guard work.sparsity > 0 else { return mask }
        let k = work.prunedCount(of: work.scores.count)
        var scratch = [Float](repeating: 0, count: work.scores.count)
        work.scores.withUnsafeBufferPointer { scores in
            let tau = scratch.withUnsafeMutableBufferPointer { tmp in
                shears_prune_kth_smallest(scores.baseAddress!, scores.count, k, tmp.baseAddress!)
            }
            mask.withUnsafeMutableBufferPointer { out in
                _ = shears_prune_mask_at_most(scores.baseAddress!, scores.count, tau, out.baseAddress!)
            }
        }
        return mask
    }
}
