import CBLAS
import Dispatch
import Kernels

/// A raw pointer that may cross into `concurrentPerform` workers, each touching disjoint parts.
struct SharedPointer: @unchecked Sendable {
    let base: UnsafeMutablePointer<Float>
}

/// Causal grouped-query attention over the rows just appended to a key/value cache.
///
/// Query rows are processed in blocks; a block whose last absolute position is `p` multiplies
/// against keys `0...p` only, so the masked upper triangle is skipped up to one block's worth.
/// Query head `h` reads key/value head `h / (headCount / kvHeadCount)` in place (no copies).
struct CausalAttention {
    let headCount: Int
    let kvHeadCount: Int
    let headDim: Int
    /// Query rows per score block.
    let block: Int

    /// Computes `output[r, h·D..<(h+1)·D]` for rows `0..<rows` at absolute positions
    /// `firstPosition + r`, attending to cache rows `0...firstPosition + r`.
    ///
    /// - Parameters:
    ///   - scores: `workers` slabs of `block × scoreStride` floats; `scoreStride` ≥ the number of
    ///     cached positions.
    ///   - workers: heads are split over this many threads (each running single-threaded BLAS)
    ///     when greater than 1; with 1, heads run in turn and BLAS threads each product.
    func run(
        queries: UnsafePointer<Float>, rows: Int, firstPosition: Int,
        keys: UnsafePointer<Float>, values: UnsafePointer<Float>,
        scores: UnsafeMutablePointer<Float>, scoreStride: Int, workers: Int,
        output: UnsafeMutablePointer<Float>
    ) {
        let shared = (queries: SharedPointer(base: UnsafeMutablePointer(mutating: queries)),
                      keys: SharedPointer(base: UnsafeMutablePointer(mutating: keys)),
                      values: SharedPointer(base: UnsafeMutablePointer(mutating: values)),
                      scores: SharedPointer(base: scores), output: SharedPointer(base: output))
        if workers <= 1 {
            for head in 0..<headCount {
                runHead(head, shared.queries.base, rows, firstPosition, shared.keys.base, shared.values.base,
                        shared.scores.base, scoreStride, shared.output.base)
            }
            return
        }
        let blasThreads = openblas_get_num_threads()
        openblas_set_num_threads(1)
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
            let slab = shared.scores.base + worker * block * scoreStride
            for head in stride(from: worker, to: headCount, by: workers) {
                runHead(head, shared.queries.base, rows, firstPosition, shared.keys.base, shared.values.base,
                        slab, scoreStride, shared.output.base)
            }
        }
        openblas_set_num_threads(blasThreads)
    }

    private func runHead(
        _ head: Int, _ queries: UnsafePointer<Float>, _ rows: Int, _ firstPosition: Int,
        _ keys: UnsafePointer<Float>, _ values: UnsafePointer<Float>,
        _ scores: UnsafeMutablePointer<Float>, _ scoreStride: Int, _ output: UnsafeMutablePointer<Float>
    ) {
        let queryWidth = headCount * headDim
        let kvWidth = kvHeadCount * headDim
        let kvHead = head / (headCount / kvHeadCount)
        let headKeys = keys + kvHead * headDim
        let headValues = values + kvHead * headDim
        let scale = 1 / Float(headDim).squareRoot()
        var start = 0
        while start < rows {
            let count = min(block, rows - start)
            let width = firstPosition + start + count
            let query = queries + start * queryWidth + head * headDim
            let out = output + start * queryWidth + head * headDim
            if count == 1 {
                cblas_sgemv(CblasRowMajor, CblasNoTrans, Int32(width), Int32(headDim), scale, headKeys,
                            Int32(kvWidth), query, 1, 0, scores, 1)
                shears_softmax_causal(scores, 1, scoreStride, width, width)
                cblas_sgemv(CblasRowMajor, CblasTrans, Int32(width), Int32(headDim), 1, headValues,
                            Int32(kvWidth), scores, 1, 0, out, 1)
            } else {
                LinearAlgebra.product(m: count, n: width, k: headDim, alpha: scale, query, lda: queryWidth,
                                      headKeys, ldb: kvWidth, transposeB: true, into: scores, ldc: scoreStride)
                shears_softmax_causal(scores, count, scoreStride, firstPosition + start + 1, width)
                LinearAlgebra.product(m: count, n: headDim, k: width, alpha: 1, scores, lda: scoreStride,
                                      headValues, ldb: kvWidth, transposeB: false, into: out, ldc: queryWidth)
            }
            start += count
        }
    }
}
