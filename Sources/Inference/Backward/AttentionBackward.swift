import CBLAS
import Kernels
import ModelIO

/// The backward of causal grouped-query attention over one sequence from position 0, for
/// queries and keys after RoPE. The probabilities are recomputed per head from the recorded
/// queries and keys (one product and the forward's `shears_softmax_causal`), then with
/// `O = P·V`, `dV = Pᵀ·dO`, `dP = dO·Vᵀ`, `dS = P ⊙ (dP − rowsum(dO ⊙ O))`,
/// `dQ = dS·K/√d`, `dK = dSᵀ·Q/√d`; dK and dV are summed over the query heads sharing a
/// key/value head. Query rows go in blocks of `block`: a block ending at row `e` multiplies
/// against keys `0..<e` only, so the masked upper triangle is skipped up to one block's worth.
/// Every product is an OpenBLAS call.
package final class AttentionBackward {
    /// The head dimension.
    let headDim: Int
    /// The most positions a call may have.
    let capacity: Int
    /// Query rows per block.
    let block: Int
    /// Probabilities and their gradient of one block, `block × capacity` each.
    private let probabilities, probabilityGradient: TensorStorage

    /// Scratch for sequences of up to `capacity` positions of heads of `headDim` floats, in
    /// blocks of `block` query rows.
    package init(headDim: Int, capacity: Int, block: Int = 256) {
        self.headDim = headDim
        self.capacity = capacity
        self.block = max(1, min(block, capacity))
        probabilities = TensorStorage(zeros: self.block * capacity)
        probabilityGradient = TensorStorage(zeros: self.block * capacity)
    }

    /// Writes `dL/dq` (`rows × heads·headDim`), `dL/dk` and `dL/dv` (`rows × kvHeads·headDim`),
    /// all with respect to the rotated queries and keys, from the forward's `queries`, `keys`,
    /// `values`, its output `attended` and `dL/d(attended)` (`rows × heads·headDim`).
    package func run(
        heads: Int, kvHeads: Int, rows: Int, queries: UnsafePointer<Float>, keys: UnsafePointer<Float>,
        values: UnsafePointer<Float>, attended: UnsafePointer<Float>, attendedGradient: UnsafePointer<Float>,
        queryGradient: UnsafeMutablePointer<Float>, keyGradient: UnsafeMutablePointer<Float>,
        valueGradient: UnsafeMutablePointer<Float>
    ) {
        precondition(rows <= capacity, "attention backward: \(rows) rows exceed the capacity \(capacity)")
        let d = headDim, queryWidth = heads * d, kvWidth = kvHeads * d, group = heads / kvHeads
        let dim = Int32(d), q32 = Int32(queryWidth), kv32 = Int32(kvWidth)
        let scale = 1 / Float(d).squareRoot()
        let p = probabilities.buffer.baseAddress!, dp = probabilityGradient.buffer.baseAddress!
        for kvHead in 0..<kvHeads {
            let k = keys + kvHead * d, v = values + kvHead * d
            let dk = keyGradient + kvHead * d, dv = valueGradient + kvHead * d
            for r in 0..<rows {
                (dk + r * kvWidth).update(repeating: 0, count: d)
                (dv + r * kvWidth).update(repeating: 0, count: d)
            }
            for head in (kvHead * group)..<((kvHead + 1) * group) {
                var start = 0
                while start < rows {
                    let count = min(block, rows - start), width = start + count
                    let m = Int32(count), n = Int32(width), ld = Int32(width)
                    let q = queries + start * queryWidth + head * d
                    let o = attended + start * queryWidth + head * d
                    let dO = attendedGradient + start * queryWidth + head * d
                    // P = softmax(Q·Kᵀ/√d) for rows start..<width against keys 0..<width, causal.
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, dim, scale, q, q32, k, kv32, 0, p, ld)
                    shears_softmax_causal(p, count, width, start + 1, width, 1, nil)
                    // dP = dO·Vᵀ, then dS = P ⊙ (dP − rowsum(dO ⊙ O)) in place (zero where masked).
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, dim, 1, dO, q32, v, kv32, 0, dp, ld)
                    for r in 0..<count {
                        var delta: Float = 0
                        for j in 0..<d { delta += dO[r * queryWidth + j] * o[r * queryWidth + j] }
                        let pr = p + r * width, dpr = dp + r * width
                        for c in 0...(start + r) { dpr[c] = pr[c] * (dpr[c] - delta) }
                        for c in (start + r + 1)..<width { dpr[c] = 0 }
                    }
                    // dV += Pᵀ·dO, dQ = dS·K/√d, dK += dSᵀ·Q/√d (key rows 0..<width).
                    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, n, dim, m, 1, p, ld, dO, q32, 1, dv, kv32)
                    cblas_sgemm(
                        CblasRowMajor, CblasNoTrans, CblasNoTrans, m, dim, n, scale, dp, ld, k, kv32, 0,
                        queryGradient + start * queryWidth + head * d, q32)
                    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, n, dim, m, scale, dp, ld, q, q32, 1, dk, kv32)
                    start += count
                }
            }
        }
    }
}
