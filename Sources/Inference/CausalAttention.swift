import CBLAS
import Dispatch
import Kernels
import ModelIO
import Synchronization

/// Causal grouped-query attention over the rows just appended to a key/value cache, for any
/// layer of a model (each call names its layer's head counts; scratch fits the largest group).
///
/// The query heads sharing one key/value head are stacked (position-major) into one matrix, so a
/// block of `block` positions is one `block·group × width` score product against that head's keys,
/// read in place from the cache. A block whose last position is `p` multiplies against keys
/// `0...p` only, so the masked upper triangle is skipped up to one block's worth. The
/// (key head, block) work items are claimed by `workers` threads, each running
/// single-threaded BLAS on its own scratch. With a sliding window (`LlamaConfig.slidingWindow`),
/// keys older than the window get zero weight.
final class CausalAttention: @unchecked Sendable {
    // @unchecked Sendable: immutable apart from the scratch buffers, which each worker only
    // touches in its own slab.
    let headDim: Int
    /// Query positions per score block.
    let block: Int
    /// Threads sharing the work items.
    let workers: Int
    /// The most query heads per key/value head the scratch holds.
    private let maxGroup: Int
    /// Row stride of a score slab: the capacity rounded up to 16 floats plus 16, so that rows do
    /// not fall on a power-of-two stride (which maps them to the same cache sets).
    private let scoreStride: Int
    /// Per worker: scores `block·group × scoreStride`; stacked queries and outputs `block·group × headDim`
    /// each, then `block·group` softmax normalisers.
    private let scores: TensorStorage
    private let stacked: TensorStorage
    /// Floats of `stacked` per worker.
    private let stackedSize: Int
    /// The model's sliding window (nil: every earlier position is seen).
    private let window: Int?

    init(config: LlamaConfig, capacity: Int, block: Int, workers: Int) {
        headDim = config.headDim
        window = config.slidingWindow
        maxGroup = max(1, config.maxGroupSize)
        self.block = min(block, capacity)
        self.workers = max(1, workers)
        scoreStride = (capacity + 15) / 16 * 16 + 16
        stackedSize = self.block * maxGroup * (2 * config.headDim + 1)
        scores = TensorStorage(zeros: self.workers * self.block * maxGroup * scoreStride)
        stacked = TensorStorage(zeros: self.workers * stackedSize)
    }

    /// Computes `output[r, h·D..<(h+1)·D]` for rows `0..<rows` at absolute positions
    /// `firstPosition + r`, attending to cache rows `0...firstPosition + r`, for a layer of
    /// `heads` query heads over `kvHeads` key/value heads.
    func run(
        heads: Int, kvHeads: Int, queries: UnsafePointer<Float>, rows: Int, firstPosition: Int,
        keys: UnsafePointer<Float>, values: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>
    ) {
        let shape = Heads(count: heads, kvCount: kvHeads)
        precondition(shape.group <= maxGroup, "a layer's query-head group exceeds the attention scratch")
        if rows == 1 {
            for head in 0..<heads { decodeHead(head, shape, queries, firstPosition, keys, values, output) }
            return
        }
        let kvHeadCount = kvHeads
        let blocks = (rows + block - 1) / block
        let items = blocks * kvHeadCount
        let shared = (
            queries: UnsafeSendable(queries), keys: UnsafeSendable(keys), values: UnsafeSendable(values),
            output: UnsafeSendable(output)
        )
        // Item i is key head i % kvHeadCount of the i / kvHeadCount-th block counted from the
        // end: the costliest blocks go first.
        @Sendable func runItem(_ item: Int, worker: Int) {
            self.runItem(
                shape, kvHead: item % kvHeadCount, start: (blocks - 1 - item / kvHeadCount) * block, rows: rows,
                firstPosition: firstPosition, worker: worker,
                shared.queries.value, shared.keys.value, shared.values.value, shared.output.value)
        }
        if workers == 1 || items == 1 {
            for item in 0..<items { runItem(item, worker: 0) }
            return
        }
        // Workers claim items one at a time, so one the scheduler delays does not hold up the rest.
        let nextItem = Atomic<Int>(0)
        BLASThreads.singleThreaded {
            DispatchQueue.concurrentPerform(iterations: workers) { worker in
                while true {
                    let item = nextItem.add(1, ordering: .relaxed).oldValue
                    if item >= items { return }
                    runItem(item, worker: worker)
                }
            }
        }
    }

    /// One block of positions for the query heads of one key/value head.
    private func runItem(
        _ heads: Heads, kvHead: Int, start: Int, rows: Int, firstPosition: Int, worker: Int,
        _ queries: UnsafePointer<Float>, _ keys: UnsafePointer<Float>, _ values: UnsafePointer<Float>,
        _ output: UnsafeMutablePointer<Float>
    ) {
        let queryWidth = heads.count * headDim
        let kvWidth = heads.kvCount * headDim
        let group = heads.group
        let count = min(block, rows - start)
        let stackedRows = count * group
        let width = firstPosition + start + count
        let slab = scores.buffer.baseAddress! + worker * block * maxGroup * scoreStride
        let stackedQueries = stacked.buffer.baseAddress! + worker * stackedSize
        let stackedOutput = stackedQueries + block * maxGroup * headDim
        let normalisers = stackedOutput + block * maxGroup * headDim
        // The group's heads are adjacent in a query row, so each position's stacked rows are one copy.
        let groupWidth = group * headDim
        for r in 0..<count {
            (stackedQueries + r * groupWidth).update(
                from: queries + (start + r) * queryWidth + kvHead * groupWidth,
                count: groupWidth)
        }
        LinearAlgebra.product(
            m: stackedRows, n: width, k: headDim, alpha: 1 / Float(headDim).squareRoot(),
            stackedQueries, lda: headDim, keys + kvHead * headDim, ldb: kvWidth, transposeB: true,
            into: slab, ldc: scoreStride)
        SlidingWindow.mask(
            slab, rows: count, group: group, stride: scoreStride, firstPosition: firstPosition + start, window: window)
        shears_softmax_causal(slab, stackedRows, scoreStride, firstPosition + start + 1, width, group, normalisers)
        LinearAlgebra.product(
            m: stackedRows, n: headDim, k: width, alpha: 1, slab, lda: scoreStride,
            values + kvHead * headDim, ldb: kvWidth, transposeB: false,
            into: stackedOutput, ldc: headDim)
        // Normalise while unstacking: scaling a head's 64 outputs is cheaper than its scores row.
        for r in 0..<count {
            let destination = output + (start + r) * queryWidth + kvHead * groupWidth
            for j in 0..<group {
                let scale = normalisers[r * group + j]
                let source = stackedOutput + (r * group + j) * headDim
                for d in 0..<headDim { destination[j * headDim + d] = source[d] * scale }
            }
        }
    }

    /// One query row of one head against the whole cache, with matrix-vector products.
    private func decodeHead(
        _ head: Int, _ heads: Heads, _ queries: UnsafePointer<Float>, _ firstPosition: Int,
        _ keys: UnsafePointer<Float>, _ values: UnsafePointer<Float>, _ output: UnsafeMutablePointer<Float>
    ) {
        let kvWidth = heads.kvCount * headDim
        let kvHead = head / heads.group
        let width = firstPosition + 1
        let slab = scores.buffer.baseAddress!
        cblas_sgemv(
            CblasRowMajor, CblasNoTrans, Int32(width), Int32(headDim), 1 / Float(headDim).squareRoot(),
            keys + kvHead * headDim, Int32(kvWidth), queries + head * headDim, 1, 0, slab, 1)
        SlidingWindow.mask(slab, rows: 1, group: 1, stride: width, firstPosition: firstPosition, window: window)
        shears_softmax_causal(slab, 1, width, width, width, 1, nil)
        cblas_sgemv(
            CblasRowMajor, CblasTrans, Int32(width), Int32(headDim), 1, values + kvHead * headDim,
            Int32(kvWidth), slab, 1, 0, output + head * headDim, 1)
    }
}

/// One layer's head counts, as a call of `CausalAttention` sees them.
private struct Heads {
    /// Query heads.
    let count: Int
    /// Key/value heads.
    let kvCount: Int
    /// Query heads per key/value head.
    var group: Int { count / kvCount }
}
