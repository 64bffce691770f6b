import CBLAS
import Kernels
import ModelIO

/// The backward of causal grouped-query attention over one sequence from position 0, for
/// queries and keys after RoPE. The probabilities are recomputed per head from the recorded
/// queries and keys (one product and the forward's `shears_softmax_causal`), then with
/// `O = P·V`, `dV = Pᵀ·dO`, `dP = dO·Vᵀ`, `dS = P ⊙ (dP − rowsum(dO ⊙ O))`,
/// `dQ = dS·K/√d`, `dK = dSᵀ·Q/√d`; dK and dV are summed over the query heads sharing a
/// key/value head. Every product is an OpenBLAS call.
package final class AttentionBackward {
    /// The head dimension.
    let headDim: Int
    /// The most positions a call may have.
    let capacity: Int
    /// Probabilities and their gradient, `capacity × capacity` each.
    private let probabilities, probabilityGradient: TensorStorage

    /// Scratch for sequences of up to `capacity` positions of heads of `headDim` floats.
    package init(headDim: Int, capacity: Int) {
        self.headDim = headDim
        self.capacity = capacity
        probabilities = TensorStorage(zeros: capacity * capacity)
        probabilityGradient = TensorStorage(zeros: capacity * capacity)
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
        let t = Int32(rows), dim = Int32(d), q32 = Int32(queryWidth), kv32 = Int32(kvWidth)
        let scale = 1 / Float(d).squareRoot()
        let p = probabilities.buffer.baseAddress!, dp = probabilityGradient.buffer.baseAddress!
        for head in 0..<heads {
            let kvHead = head / group
            let first: Float = head % group == 0 ? 0 : 1
            let q = queries + head * d, k = keys + kvHead * d, v = values + kvHead * d
            let o = attended + head * d, dO = attendedGradient + head * d
            // P = softmax(Q·Kᵀ/√d), causal.
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, t, t, dim, scale, q, q32, k, kv32, 0, p, t)
            shears_softmax_causal(p, rows, rows, 1, rows, 1, nil)
            // dP = dO·Vᵀ, then dS = P ⊙ (dP − rowsum(dO ⊙ O)) in place (zero above the diagonal).
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, t, t, dim, 1, dO, q32, v, kv32, 0, dp, t)
            for r in 0..<rows {
                var delta: Float = 0
                for j in 0..<d { delta += dO[r * queryWidth + j] * o[r * queryWidth + j] }
                let pr = p + r * rows, dpr = dp + r * rows
                for c in 0...r { dpr[c] = pr[c] * (dpr[c] - delta) }
                for c in (r + 1)..<rows { dpr[c] = 0 }
            }
            // dV (+)= Pᵀ·dO, dQ = dS·K/√d, dK (+)= dSᵀ·Q/√d.
            cblas_sgemm(
                CblasRowMajor, CblasTrans, CblasNoTrans, t, dim, t, 1, p, t, dO, q32, first,
                valueGradient + kvHead * d, kv32)
            cblas_sgemm(
                CblasRowMajor, CblasNoTrans, CblasNoTrans, t, dim, t, scale, dp, t, k, kv32, 0,
                queryGradient + head * d, q32)
            cblas_sgemm(
                CblasRowMajor, CblasTrans, CblasNoTrans, t, dim, t, scale, dp, t, q, q32, first,
                keyGradient + kvHead * d, kv32)
        }
    }
}
