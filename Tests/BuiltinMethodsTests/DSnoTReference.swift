import Foundation

/// A literal Double transcription of the DSnoT reference loop (zyxxmu/DSnoT `lib/prune.py`,
/// `prune_DSnoT`), written the way the vectorised torch code runs: all rows in lock step, pointer
/// pairs per row, `update_mask`, scatter writes for every row (active or not), the
/// `return_reorder_indice` index trick. Used as the oracle for `DSnoTRefiner`.
enum DSnoTReference {
    /// One applied or refused decision of a row, as the reference makes it.
    struct Decision: Equatable {
        var cycle: Int, regrown: Int, pruned: Int, errorBefore: Double, applied: Bool
    }

    /// The reference's inputs for one matrix: weights, per-column sums, variances, scaler_row,
    /// the initial mask (1 = pruned) and, for N:M, the initial-method scores.
    struct Input {
        var rows: Int, columns: Int
        var weights: [Float], sums: [Float], variances: [Float], squaredNorms: [Float]
        var mask: [UInt8]
        var scores: [Float] = []
    }

    /// torch.sort(stable=True) indices of each row of `values` (`rows × width`).
    static func stableArgsort(_ values: [Double], width: Int) -> [[Int]] {
        stride(from: 0, to: values.count, by: width).map { base in
            (0..<width).sorted { (values[base + $0], $0) < (values[base + $1], $1) }
        }
    }

    /// `return_reorder_indice`: positive entries keep their order but flipped to the end, negative
    /// ones stay in front, zeros become index 0.
    static func reorderIndices(_ row: [Double]) -> [Int] {
        let width = row.count
        var positive = (0..<width).map { row[$0] > 0 ? Double($0) : .infinity }
        var negative = (0..<width).map { row[$0] < 0 ? Double($0) : .infinity }
        positive.sort()
        negative.sort()
        positive.reverse()
        return (0..<width).map { k in
            let p = positive[k] == .infinity ? 0 : positive[k]
            let n = negative[k] == .infinity ? 0 : negative[k]
            return Int(p + n)
        }
    }

    /// The unstructured branch; returns the final mask and per row the decisions of active rows.
    static func unstructured(
        _ input: Input, maxCycles: Int, threshold: Double, power: Double
    )
        -> (mask: [UInt8], decisions: [[Decision]])
    {
        let rows = input.rows, d = input.columns
        var mask = input.mask
        let metric = (0..<rows * d).map { Double(input.weights[$0]) * Double(input.sums[$0 % d]) }
        let wanda = (0..<rows * d).map {
            abs(Double(input.weights[$0])) * Double(input.squaredNorms[$0 % d]).squareRoot()
        }
        var regrowMetric = metric
        var error = [Double](repeating: 0, count: rows)
        for i in 0..<rows * d {
            if mask[i] == 0 { regrowMetric[i] = 0 }
        }
        for r in 0..<rows { for j in 0..<d { error[r] += regrowMetric[r * d + j] } }
        if power != 0 {
            for i in 0..<rows * d { regrowMetric[i] /= pow(max(Double(input.variances[i % d]), 1e-12), power) }
        }
        let regrowing = stableArgsort(regrowMetric, width: d)
        var wandaMasked = wanda
        for i in 0..<rows * d where mask[i] == 1 { wandaMasked[i] = .infinity }
        let keptCounts = (0..<rows).map { r in (0..<d).filter { mask[r * d + $0] == 0 }.count }
        let sortedWanda = stableArgsort(wandaMasked, width: d)
        var pruningBlock: [[Int]] = []
        for r in 0..<rows {
            let kept = Array(sortedWanda[r].prefix(keptCounts[r]))
            let order = reorderIndices(kept.map { metric[r * d + $0] })
            pruningBlock.append(order.map { kept[$0] })
        }
        var growPointers = (0..<rows).map { _ in [0, d - 1] }
        var prunePointers = (0..<rows).map { r in [0, keptCounts[r] - 1] }
        let steps = [1, -1]
        var update = [Bool](repeating: true, count: rows)
        var decisions = [[Decision]](repeating: [], count: rows)
        var cycle = 0
        while !(update.allSatisfy { !$0 } || cycle >= maxCycles) {
            cycle += 1
            for r in 0..<rows {
                let growSide = error[r] > 0 ? 1 : 0
                let grown = regrowing[r][growPointers[r][growSide]]
                growPointers[r][growSide] += steps[growSide]
                let pruneSide = error[r] < 0 ? 1 : 0
                let pruned = pruningBlock[r][prunePointers[r][pruneSide]]
                prunePointers[r][pruneSide] += steps[pruneSide]
                let before = error[r]
                update[r] = update[r] && abs(error[r]) > threshold
                // Our deviations (docs/methods.md): a row whose grow pointer reaches a kept weight
                // stops, and inactive rows are not written (the reference's scatter would prune
                // the kept weight and break the row's count).
                if mask[r * d + grown] == 0 { update[r] = false }
                if update[r] {
                    mask[r * d + pruned] = 1
                    mask[r * d + grown] = 0
                    error[r] += metric[r * d + pruned]
                    error[r] -= metric[r * d + grown]
                    decisions[r].append(
                        Decision(
                            cycle: cycle - 1, regrown: grown, pruned: pruned, errorBefore: before,
                            applied: true))
                }
            }
        }
        return (mask, decisions)
    }

    /// The N:M branch (`prune_n` pruned of every `group`); `groupExhausted` reports a cycle whose
    /// group had no finite candidate (where the reference's topk picks an arbitrary +∞ entry).
    static func groups(
        _ input: Input, group: Int, maxCycles: Int, threshold: Double, power: Double
    )
        -> (mask: [UInt8], decisions: [[Decision]], groupExhausted: Bool)
    {
        let rows = input.rows, d = input.columns
        var mask = input.mask
        let metric = (0..<rows * d).map { Double(input.weights[$0]) * Double(input.sums[$0 % d]) }
        var regrowMetric = metric
        for i in 0..<rows * d where mask[i] == 0 { regrowMetric[i] = 0 }
        var error = [Double](repeating: 0, count: rows)
        for r in 0..<rows { for j in 0..<d { error[r] += regrowMetric[r * d + j] } }
        let initialSign = error.map { $0 > 0 ? 1 : $0 < 0 ? -1 : 0 }
        if power != 0 {
            for i in 0..<rows * d { regrowMetric[i] /= pow(max(Double(input.variances[i % d]), 1e-12), power) }
        }
        let regrowing = stableArgsort(regrowMetric, width: d)
        var initial = input.scores.map(Double.init)
        for i in 0..<rows * d where mask[i] == 1 { initial[i] = .infinity }
        var growPointers = (0..<rows).map { _ in [0, d - 1] }
        let steps = [1, -1]
        var update = [Bool](repeating: true, count: rows)
        var decisions = [[Decision]](repeating: [], count: rows)
        var exhausted = false
        var cycleTime = 1
        while !(update.allSatisfy { !$0 } || cycleTime > maxCycles) {
            cycleTime += 1
            for r in 0..<rows {
                let side = error[r] > 0 ? 1 : 0
                let grown = regrowing[r][growPointers[r][side]]
                let start = grown - grown % group
                var pruned = start
                for j in start..<start + group where initial[r * d + j] < initial[r * d + pruned] { pruned = j }
                if initial[r * d + pruned] == .infinity { exhausted = true }
                let after = error[r] + metric[r * d + pruned] - metric[r * d + grown]
                let sign = after > 0 ? 1 : after < 0 ? -1 : 0
                if mask[r * d + grown] == 0 { update[r] = false } // our deviation, as in the unstructured loop
                let wasActive = update[r]
                let passesThreshold = abs(error[r]) > threshold
                update[r] = update[r] && initialSign[r] == sign && passesThreshold
                initial[r * d + pruned] = .infinity
                if update[r] {
                    mask[r * d + pruned] = 1
                    mask[r * d + grown] = 0
                }
                if wasActive && passesThreshold {
                    decisions[r].append(
                        Decision(
                            cycle: cycleTime - 2, regrown: grown, pruned: pruned, errorBefore: error[r],
                            applied: update[r]))
                }
                if update[r] {
                    error[r] += metric[r * d + pruned]
                    error[r] -= metric[r * d + grown]
                }
                growPointers[r][side] += steps[side]
            }
        }
        return (mask, decisions, exhausted)
    }
}
