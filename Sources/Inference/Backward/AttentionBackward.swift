import CBLAS
import Dispatch
import Kernels
import ModelIO
import Synchronization

/// The backward of causal grouped-query attention over one sequence from position 0, for
/// queries and keys after RoPE. The probabilities are recomputed per head from the recorded
/// queries and keys (one product and the forward's `shears_softmax_causal`), then with
/// `O = P·V`, `dV = Pᵀ·dO`, `dP = dO·Vᵀ`, `dS = P ⊙ (dP − rowsum(dO ⊙ O))`,
/// `dQ = dS·K/√d`, `dK = dSᵀ·Q/√d`; dK and dV are summed over the query heads sharing a
/// key/value head. Query rows go in blocks of `block`: a block ending at row `e` multiplies
/// against keys `0..<e` only, so the masked upper triangle is skipped up to one block's worth.
/// Query heads are claimed by `workers` threads, each running single-threaded OpenBLAS on its own
/// scratch and writing the head's own dK/dV share, which are then summed per key/value head.
package final class AttentionBackward: @unchecked Sendable {
    // @unchecked Sendable: each worker only touches its own scratch slab and its head's outputs.
    /// The head dimension.
    let headDim: Int
    /// The most positions a call may have.
    let capacity: Int
    /// Query rows per block.
    let block: Int
    /// Threads sharing the query heads.
    let workers: Int
    /// The sliding window (nil: full causal attention), as in the forward.
    let window: Int?
    /// Per worker: probabilities and their gradient of one block, `block × capacity` each.
    private let probabilities, probabilityGradient: TensorStorage
    /// Per query head: its share of dK and dV, `capacity × headDim` each (grown on demand).
    private var shares: TensorStorage

    /// Scratch for sequences of up to `capacity` positions of heads of `headDim` floats, in
    /// blocks of `block` query rows, for `workers` threads (default: OpenBLAS's thread count),
    /// with the model's sliding `window` if it has one.
    package init(headDim: Int, capacity: Int, block: Int = 256, workers: Int? = nil, window: Int? = nil) {
        self.headDim = headDim
        self.window = window
        self.capacity = capacity
        self.block = max(1, min(block, capacity))
        self.workers = max(1, workers ?? blasThreadCount())
        probabilities = TensorStorage(zeros: self.workers * self.block * capacity)
        probabilityGradient = TensorStorage(zeros: self.workers * self.block * capacity)
        shares = TensorStorage(zeros: 0)
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
        let d = headDim, kvWidth = kvHeads * d, group = heads / kvHeads
        if shares.count < heads * 2 * capacity * d { shares = TensorStorage(zeros: heads * 2 * capacity * d) }
        let shared = (
            queries: UnsafeSendable(queries), keys: UnsafeSendable(keys), values: UnsafeSendable(values),
            attended: UnsafeSendable(attended), attendedGradient: UnsafeSendable(attendedGradient),
            queryGradient: UnsafeSendable(queryGradient)
        )
        @Sendable func runHead(_ head: Int, worker: Int) {
            self.head(
                head, heads: heads, kvHeads: kvHeads, rows: rows, worker: worker, shared.queries.value,
                shared.keys.value, shared.values.value, shared.attended.value, shared.attendedGradient.value,
                shared.queryGradient.value)
        }
        if workers == 1 || heads == 1 {
            for head in 0..<heads { runHead(head, worker: 0) }
        } else {
            let nextHead = Atomic<Int>(0)
            BLASThreads.singleThreaded {
                DispatchQueue.concurrentPerform(iterations: min(workers, heads)) { worker in
                    while true {
                        let head = nextHead.add(1, ordering: .relaxed).oldValue
                        if head >= heads { return }
                        runHead(head, worker: worker)
                    }
                }
            }
        }
        // dK and dV of a key/value head: the sum of its query heads' shares.
        let base = shares.buffer.baseAddress!
        for kvHead in 0..<kvHeads {
            for r in 0..<rows {
                let dk = keyGradient + r * kvWidth + kvHead * d, dv = valueGradient + r * kvWidth + kvHead * d
                dk.update(repeating: 0, count: d)
                dv.update(repeating: 0, count: d)
                for head in (kvHead * group)..<((kvHead + 1) * group) {
                    let share = base + head * 2 * capacity * d + r * d
                    for j in 0..<d {
                        dk[j] += share[j]
                        dv[j] += share[capacity * d + j]
                    }
                }
            }
        }
    }

    /// Query head `head`: its dQ columns, and its dK and dV shares (`rows × headDim` each).
    private func head(
        _ head: Int, heads: Int, kvHeads: Int, rows: Int, worker: Int, _ queries: UnsafePointer<Float>,
        _ keys: UnsafePointer<Float>, _ values: UnsafePointer<Float>, _ attended: UnsafePointer<Float>,
        _ attendedGradient: UnsafePointer<Float>, _ queryGradient: UnsafeMutablePointer<Float>
    ) {
        let d = headDim, queryWidth = heads * d, kvWidth = kvHeads * d, kvHead = head / (heads / kvHeads)
        let dim = Int32(d), q32 = Int32(queryWidth), kv32 = Int32(kvWidth)
        let scale = 1 / Float(d).squareRoot()
        let p = probabilities.buffer.baseAddress! + worker * block * capacity
        let dp = probabilityGradient.buffer.baseAddress! + worker * block * capacity
        let k = keys + kvHead * d, v = values + kvHead * d
        let dk = shares.buffer.baseAddress! + head * 2 * capacity * d, dv = dk + capacity * d
        dk.update(repeating: 0, count: rows * d)
        dv.update(repeating: 0, count: rows * d)
        var start = 0
        while start < rows {
            let count = min(block, rows - start), width = start + count
            let m = Int32(count), n = Int32(width), ld = Int32(width)
            let q = queries + start * queryWidth + head * d
            let o = attended + start * queryWidth + head * d
            let dO = attendedGradient + start * queryWidth + head * d
            // P = softmax(Q·Kᵀ/√d) for rows start..<width against keys 0..<width, causal.
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, dim, scale, q, q32, k, kv32, 0, p, ld)
            SlidingWindow.mask(p, rows: count, group: 1, stride: width, firstPosition: start, window: window)
            shears_softmax_causal(p, count, width, start + 1, width, 1, nil)
            // dP = dO·Vᵀ, then dS = P ⊙ (dP − rowsum(dO ⊙ O)) in place (zero where masked).
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, dim, 1, dO, q32, v, kv32, 0, dp, ld)
            shears_softmax_causal_backward(p, dp, count, width, start + 1, width, o, dO, queryWidth, d)
            // dV += Pᵀ·dO, dQ = dS·K/√d, dK += dSᵀ·Q/√d (key rows 0..<width).
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, n, dim, m, 1, p, ld, dO, q32, 1, dv, dim)
            cblas_sgemm(
                CblasRowMajor, CblasNoTrans, CblasNoTrans, m, dim, n, scale, dp, ld, k, kv32, 0,
                queryGradient + start * queryWidth + head * d, q32)
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, n, dim, m, scale, dp, ld, q, q32, 1, dk, dim)
            start += count
        }
    }
}
