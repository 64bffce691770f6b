import PruningEngine

/// Selector: the Wanda reference's `--use_variant`. Each row prunes its lowest scores until their
/// cumulative sum reaches `α ·` the row's total (every score `≤` the last one counted), with α
/// bisected in [0, 0.8] from 0.4 until the matrix sparsity is within 0.001 of the target or the
/// interval is narrower than 0.001.
///
/// Deviation: a row whose smallest score already exceeds `α ·` total prunes nothing (the
/// reference gathers index −1 there, which prunes the whole row).
public struct AdaptiveRowSelector: PruneStep {
    /// "wanda-variant".
    public var name: String { "wanda-variant" }
    /// Selector.
    public var stage: PruneStage { .selector }
    /// None.
    public var requirement: StatisticsRequirement { [] }

    /// Creates the selector.
    public init() {}

    /// Sets `work.mask` from `work.scores`.
    public func run(_ work: MatrixWork) throws(PruneError) {
        try work.requireScores(for: name)
        let rows = work.rows, columns = work.columns
        var sorted = work.scores
        var cumulative = [Float](repeating: 0, count: sorted.count)
        var totals = [Float](repeating: 0, count: rows)
        for r in 0..<rows {
            let range = r * columns..<(r + 1) * columns
            sorted[range].sort()
            var running: Float = 0
            var total: Float = 0
            for i in range {
                running += sorted[i]
                cumulative[i] = running
                total += work.scores[i]
            }
            totals[r] = total
        }
        /// Per row, the threshold τ_r (nil: prune nothing) and the count of scores ≤ τ_r.
        func thresholds(_ alpha: Float) -> (taus: [Float?], pruned: Int) {
            var taus = [Float?](repeating: nil, count: rows)
            var pruned = 0
            for r in 0..<rows {
                let base = r * columns
                let limit = alpha * totals[r]
                let within = upperBound(cumulative, base, columns) { $0 <= limit }
                guard within > 0 else { continue }
                let tau = sorted[base + within - 1]
                taus[r] = tau
                pruned += upperBound(sorted, base, columns) { $0 <= tau }
            }
            return (taus, pruned)
        }
        let target = work.sparsity
        var alpha = 0.4, low = 0.0, high = 0.8
        var (taus, pruned) = thresholds(Float(alpha))
        func current() -> Double { Double(pruned) / Double(rows * columns) }
        while abs(current() - target) > 0.001, high - low >= 0.001 {
            if current() > target {
                (alpha, high) = ((alpha + low) / 2, alpha)
            } else {
                (alpha, low) = ((alpha + high) / 2, alpha)
            }
            (taus, pruned) = thresholds(Float(alpha))
        }
        var mask = [UInt8](repeating: 0, count: rows * columns)
        for r in 0..<rows {
            guard let tau = taus[r] else { continue }
            for i in r * columns..<(r + 1) * columns where work.scores[i] <= tau { mask[i] = 1 }
        }
        work.mask = mask
        work.notes.append("alpha \(alpha)")
    }
}

/// The number of leading entries of `values[base..<base+count]` (sorted so that `isBelow` holds
/// for a prefix) for which `isBelow` holds.
private func upperBound(_ values: [Float], _ base: Int, _ count: Int, _ isBelow: (Float) -> Bool) -> Int {
    var low = 0, high = count
    while low < high {
        let middle = (low + high) / 2
        if isBelow(values[base + middle]) { low = middle + 1 } else { high = middle }
    }
    return low
}
