/// An unblocked, textbook Optimal Brain Surgeon sweep in Double, the oracle for SparseGPT:
/// columns left to right; pruning weight (r, j) with the remaining set F = {j, …, d−1} moves the
/// row's remaining weights by `−w_rj / [H_F⁻¹]_00 · H_F⁻¹[:, 0]`, each inverse computed afresh.
/// The mask is chosen like SparseGPT's: per block of `blocksize` columns on the current weights
/// (unstructured: saliency `w² / [H_F⁻¹]_00`, block threshold `≤ sorted[Int(n·p)]`), or lazily
/// per group of M (N:M, the `prune` lowest saliencies).
struct TextbookOBS {
    let rows: Int, columns: Int
    var weights: [Double]
    /// The damped Hessian, `columns × columns`.
    let hessian: [Double]

    /// Diagonal entry `[H_F⁻¹]_00` and first column of `H_F⁻¹` for F = j..<columns.
    func inverseColumn(_ j: Int) -> [Double] {
        let n = columns - j
        var a = [Double](repeating: 0, count: n * 2 * n)
        for r in 0..<n {
            for c in 0..<n { a[r * 2 * n + c] = hessian[(j + r) * columns + j + c] }
            a[r * 2 * n + n + r] = 1
        }
        for pivot in 0..<n { // Gauss-Jordan; H is positive definite, no pivoting needed
            let p = a[pivot * 2 * n + pivot]
            for c in 0..<2 * n { a[pivot * 2 * n + c] /= p }
            for r in 0..<n where r != pivot {
                let f = a[r * 2 * n + pivot]
                if f != 0 { for c in 0..<2 * n { a[r * 2 * n + c] -= f * a[pivot * 2 * n + c] } }
            }
        }
        return (0..<n).map { a[$0 * 2 * n + n] }
    }

    func saliency(_ r: Int, _ j: Int, _ inverse: [[Double]]) -> Double {
        let w = weights[r * columns + j]
        return w * w / inverse[j][0]
    }

    /// Runs the sweep; returns the mask (1 = pruned).
    mutating func prune(sparsity: Double, blocksize: Int, groupPrune: Int = 0, group: Int = 1) -> [UInt8] {
        let inverse = (0..<columns).map(inverseColumn)
        var mask = [UInt8](repeating: 0, count: rows * columns)
        var b0 = 0
        while b0 < columns {
            let b1 = min(b0 + blocksize, columns)
            if groupPrune == 0 {
                var all: [(Double, Int)] = []
                for r in 0..<rows { for j in b0..<b1 { all.append((saliency(r, j, inverse), r * columns + j)) } }
                let tau = all.map(\.0).sorted()[Int(Double(all.count) * sparsity)]
                for (s, index) in all where s <= tau { mask[index] = 1 }
            }
            for j in b0..<b1 {
                for r in 0..<rows {
                    if groupPrune > 0, j % group == 0 {
                        let order = (j..<j + group).sorted {
                            (saliency(r, $0, inverse), $0) < (saliency(r, $1, inverse), $1)
                        }
                        for c in order.prefix(groupPrune) { mask[r * columns + c] = 1 }
                    }
                    guard mask[r * columns + j] != 0 else { continue }
                    let step = weights[r * columns + j] / inverse[j][0]
                    for (offset, h) in inverse[j].enumerated() { weights[r * columns + j + offset] -= step * h }
                    weights[r * columns + j] = 0
                }
            }
            b0 = b1
        }
        return mask
    }
}
