import Kernels
import PruningEngine

/// Selector for plugin scores: the built-in per-row, N:M or per-matrix selection, with the NaN
/// check of the scores fused in. Rows are taken in blocks of about 64 KiB of scores: each block
/// is checked and then selected while it is still in cache, so the check costs no extra pass over
/// memory. Masks are identical to the built-in per-row, N:M and per-matrix selectors (the rules of
/// `MaskSelection`) with their default tie order in N:M groups (`torch.topk`'s, as for Wanda),
/// which includes following a pattern an allocator set in `MatrixWork.pattern` (OWL's per-layer
/// N:M) and recording an N:M pattern the mask follows there, for refiners such as DSnoT.
public struct PluginCheckedSelector: PruneStep {
    /// Which built-in selection.
    public enum Rule: Sendable, Equatable {
        /// `Int(columns · sparsity)` per row (`RowSelector`).
        case row
        /// One threshold per matrix (`MatrixThresholdSelector`).
        case matrix
        /// N:M groups (`GroupSelector`).
        case groups(SparsityPattern)
    }

    /// The criterion whose scores are checked (named in errors).
    public let criterion: PluginCriterion
    /// The selection.
    public let rule: Rule

    /// A checked selector for `criterion`'s scores.
    ///
    /// - Throws: `PluginError` for an N:M rule with an invalid or unstructured pattern.
    public init(_ criterion: PluginCriterion, rule: Rule) throws(PluginError) {
        if case .groups(let pattern) = rule {
            guard pattern.prunedPerGroup != nil else {
                throw criterion.error("the group selector needs an N:M pattern")
            }
            do throws(PruneError) { _ = try pattern.validated() } catch { throw criterion.error(error.message) }
        }
        self.criterion = criterion
        self.rule = rule
    }

    /// "per-row", "per-matrix" or "N:M", as the built-in selectors.
    public var name: String {
        switch rule {
        case .row: "per-row"
        case .matrix: "per-matrix"
        case .groups(let pattern): pattern.description
        }
    }
    /// Selector.
    public var stage: PruneStage { .selector }
    /// None.
    public var requirement: StatisticsRequirement { [] }

    /// Checks `work.scores` for NaN and sets `work.mask`.
    ///
    /// - Throws: `PruneError` naming the plugin, criterion, tensor, row and column of a NaN score,
    ///   or a pattern that does not fit the matrix.
    public func run(_ work: MatrixWork) throws(PruneError) {
        let rows = work.rows, columns = work.columns
        try work.requireScores(for: name)
        if case .matrix = rule {
            try check(work, rows: 0..<rows)
            work.mask = try MaskSelection.matrixThreshold(work, groupTies: .torchTopK)
            return
        }
        let pattern: SparsityPattern
        if let allocated = work.pattern {
            pattern = allocated
        } else if case .groups(let own) = rule {
            pattern = own
        } else {
            pattern = .unstructured
        }
        try pattern.validate(columns: columns, name: work.name)
        let k = work.prunedCount(of: columns)
        let blockRows = max(1, 16_384 / max(columns, 1))
        var mask = [UInt8](repeating: 0, count: rows * columns)
        var scratch = [Float](repeating: 0, count: columns)
        for start in stride(from: 0, to: rows, by: blockRows) {
            let end = min(rows, start + blockRows)
            try check(work, rows: start..<end)
            work.scores.withUnsafeBufferPointer { scores in
                mask.withUnsafeMutableBufferPointer { out in
                    let from = scores.baseAddress! + start * columns, into = out.baseAddress! + start * columns
                    switch pattern {
                    case .nm(let keep, let group):
                        shears_prune_select_groups_topk(from, end - start, columns, group - keep, group, into)
                    case .unstructured:
                        scratch.withUnsafeMutableBufferPointer { tmp in
                            shears_prune_select_rows(from, end - start, columns, k, into, tmp.baseAddress!)
                        }
                    }
                }
            }
        }
        work.mask = mask
        if case .nm = pattern { work.pattern = pattern }
    }

    /// Throws at the first NaN score in `rows`.
    private func check(_ work: MatrixWork, rows: Range<Int>) throws(PruneError) {
        let columns = work.columns
        let found = work.scores.withUnsafeBufferPointer { scores in
            PluginScoreCheck.firstNaN(
                UnsafeBufferPointer(rebasing: scores[rows.lowerBound * columns..<rows.upperBound * columns]))
        }
        guard let found else { return }
        let index = rows.lowerBound * columns + found
        throw PruneError(
            criterion.error(
                "score wrote NaN for \(work.name) at row \(index / columns), column \(index % columns)"
            ).description)
    }
}
