/// BESA's optional exact count (`exact = true`, a deviation from the reference, whose penalty is
/// soft): the block's pruned count moved to a goal by shifting every row's learned sparsity by
/// the same amount δ, so that the rows nearest their count thresholds move first.
enum BESAExactCount {
    /// Per matrix and row, `Int((s_r + δ)·columns)` (clamped to the row) for the δ at which the
    /// total reaches `goal`; rows flipping at the same δ are taken in matrix and row order.
    static func adjust(_ counts: [[Int]], sparsities: [[Float]], parts: [BESASparsity], goal: Int) -> [[Int]] {
        func shifted(_ delta: Double) -> [[Int]] {
            parts.enumerated().map { index, part in
                (0..<part.rows).map { row in
                    let s = Double(sparsities[index][part.rowWise ? row : 0]) + delta
                    return min(part.columns, max(0, Int((s * Double(part.columns)).rounded(.down))))
                }
            }
        }
        func sum(_ counts: [[Int]]) -> Int { counts.reduce(0) { $0 + $1.reduce(0, +) } }
        guard sum(counts) != goal else { return counts }
        var low = -1.0, high = 1.0
        for _ in 0..<64 {
            let middle = (low + high) / 2
            if sum(shifted(middle)) <= goal { low = middle } else { high = middle }
        }
        var result = shifted(low)
        let above = shifted(high)
        var missing = goal - sum(result)
        for index in result.indices {
            for row in result[index].indices where missing > 0 && above[index][row] > result[index][row] {
                let step = min(missing, above[index][row] - result[index][row])
                result[index][row] += step
                missing -= step
            }
        }
        return result
    }
}
