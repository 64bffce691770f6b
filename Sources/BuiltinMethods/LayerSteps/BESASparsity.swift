import Foundation
import PruningEngine

/// BESA's learnable sparsity of one matrix (`models/sparse_layers.py`, row-wise with
/// `--blocksize 1` or layer-wise): per group of rows (each row, or the whole matrix) logits θ
/// over `D` candidate sparsities `c_i = 1 − i/(D−1)`, probabilities `p = softmax(sigmoid(θ))`,
/// the expected sparsity `s = Σ p_i·c_i`; the hard mask prunes the first `Int(s·columns)`
/// weights of each row in ascending score order (the criterion's, ties to the lower column),
/// and the gradient reaches θ through the soft keep-probability of sorted position `k`,
/// `q_k = 1 − Σ_i p_i·[k < Int(columns·c_i)]` (straight-through: the forward uses the hard mask).
package struct BESASparsity {
    /// Output rows.
    package let rows: Int
    /// Input columns.
    package let columns: Int
    /// Whether each row has its own logits (`row`) or all rows share one set (`layer`).
    package let rowWise: Bool
    /// The candidate sparsities, `1` down to `0`.
    package let candidates: [Float]
    /// Per candidate, the sorted positions it prunes: `Int(columns·c_i)`.
    package let cuts: [Int]
    /// Per row, the columns in ascending score order.
    private let order: [Int32]

    /// The parametrisation of a `rows × columns` matrix with `scores` (row-major, lower = pruned
    /// first) and `candidateCount` candidates (≥ 2).
    package init(rows: Int, columns: Int, scores: [Float], candidateCount: Int, rowWise: Bool) {
        precondition(candidateCount >= 2 && scores.count == rows * columns)
        self.rows = rows
        self.columns = columns
        self.rowWise = rowWise
        let last = Double(candidateCount - 1)
        candidates = (0..<candidateCount).map { Float(Double(candidateCount - 1 - $0) / last) }
        cuts = candidates.map { Int(Double(columns) * Double($0)) }
        var order = [Int32](repeating: 0, count: rows * columns)
        scores.withUnsafeBufferPointer { scores in
            for row in 0..<rows {
                let base = row * columns
                let sorted = (0..<columns).sorted { a, b in
                    let x = scores[base + a], y = scores[base + b]
                    return x < y || (x == y && a < b)
                }
                for (k, column) in sorted.enumerated() { order[base + k] = Int32(column) }
            }
        }
        self.order = order
    }

    /// Groups of rows sharing logits: `rows` (row-wise) or 1.
    package var groups: Int { rowWise ? rows : 1 }
    /// Logits of this matrix: `groups × D`.
    package var logitCount: Int { groups * candidates.count }

    /// `softmax(sigmoid(θ))` per group, `groups × D`.
    package func probabilities(_ logits: UnsafeBufferPointer<Float>) -> [Float] {
        let width = candidates.count
        var result = [Float](repeating: 0, count: logits.count)
        for group in 0..<groups {
            let base = group * width
            var largest = -Float.infinity
            for i in 0..<width {
                let u = 1 / (1 + exp(-logits[base + i]))
                result[base + i] = u
                largest = max(largest, u)
            }
            var sum: Float = 0
            for i in 0..<width {
                result[base + i] = exp(result[base + i] - largest)
                sum += result[base + i]
            }
            for i in 0..<width { result[base + i] /= sum }
        }
        return result
    }

    /// The expected sparsity `Σ p_i·c_i` per group.
    package func sparsities(_ probabilities: [Float]) -> [Float] {
        let width = candidates.count
        return (0..<groups).map { group in
            var s: Float = 0
            for i in 0..<width { s += probabilities[group * width + i] * candidates[i] }
            return s
        }
    }

    /// The matrix's expected sparsity: the mean over rows.
    package func sparsity(_ sparsities: [Float]) -> Double {
        sparsities.reduce(0.0) { $0 + Double($1) } / Double(sparsities.count)
    }

    /// Pruned weights per row: `Int(s·columns)` of the row's group (Float, as the reference).
    package func prunedCounts(_ sparsities: [Float]) -> [Int] {
        (0..<rows).map { row in min(columns, max(0, Int(sparsities[rowWise ? row : 0] * Float(columns)))) }
    }

    /// The hard keep-mask (1 kept, 0 pruned) for `counts` pruned per row.
    package func keepMask(_ counts: [Int]) -> [Float] {
        var mask = [Float](repeating: 1, count: rows * columns)
        for row in 0..<rows {
            let base = row * columns
            for k in 0..<counts[row] { mask[base + Int(order[base + k])] = 0 }
        }
        return mask
    }

    /// The prune mask (1 pruned) for `counts` pruned per row, as `MatrixWork.mask` holds it.
    package func pruneMask(_ counts: [Int]) -> [UInt8] {
        var mask = [UInt8](repeating: 0, count: rows * columns)
        for row in 0..<rows {
            let base = row * columns
            for k in 0..<counts[row] { mask[base + Int(order[base + k])] = 1 }
        }
        return mask
    }

    /// Writes `∂L/∂θ` into `gradient` (`logitCount` values) from `∂L/∂M` (`maskGradient`, the
    /// straight-through gradient of the soft mask, row-major) and `penalty`, `∂L/∂s` of this
    /// matrix's mean sparsity (the sparsity term).
    ///
    /// `∂L/∂p_i = −Σ_{k<Int(columns·c_i)} g_k + penalty·c_i/groups` with `g` the mask gradient in
    /// sorted order, then through softmax and sigmoid.
    package func logitGradient(
        maskGradient: [Float], logits: UnsafeBufferPointer<Float>, probabilities: [Float], penalty: Double,
        into gradient: UnsafeMutableBufferPointer<Float>
    ) {
        let width = candidates.count
        var byCandidate = [Double](repeating: 0, count: logitCount)
        var prefix = [Double](repeating: 0, count: columns + 1)
        for row in 0..<rows {
            let base = row * columns
            var sum = 0.0
            for k in 0..<columns {
                prefix[k] = sum
                sum += Double(maskGradient[base + Int(order[base + k])])
            }
            prefix[columns] = sum
            let group = rowWise ? row * width : 0
            for i in 0..<width { byCandidate[group + i] -= prefix[cuts[i]] }
        }
        let share = penalty / Double(groups)
        for group in 0..<groups {
            let base = group * width
            var mean = 0.0
            for i in 0..<width {
                byCandidate[base + i] += share * Double(candidates[i])
                mean += Double(probabilities[base + i]) * byCandidate[base + i]
            }
            for i in 0..<width {
                let u = 1 / (1 + exp(-Double(logits[base + i])))
                let du = Double(probabilities[base + i]) * (byCandidate[base + i] - mean)
                gradient[base + i] = Float(du * u * (1 - u))
            }
        }
    }
}
