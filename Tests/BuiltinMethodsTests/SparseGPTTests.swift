import BuiltinMethods
import ModelIO
import PruningEngine
import TestSupport
import Testing

/// SparseGPT against the textbook Double OBS oracle on small layers, plus the spec's sanity checks.
@Suite struct SparseGPTTests {
    /// A `rows × columns` layer with `tokens` correlated inputs (column `dead` never active).
    struct Layer {
        let rows: Int, columns: Int
        let weights: [Float]
        let inputs: [Float]
        let statistics: InputStatistics

        init(rows: Int, columns: Int, tokens: Int = 96, dead: Int? = 3, seed: UInt64) {
            var rng = SplitMix64(seed: seed)
            func uniform() -> Float { rng.nextUnitFloat() * 2 - 1 }
            self.rows = rows
            self.columns = columns
            weights = (0..<rows * columns).map { _ in uniform() }
            var x = [Float](repeating: 0, count: tokens * columns)
            for t in 0..<tokens {
                let shared = uniform()
                for j in 0..<columns where j != dead { x[t * columns + j] = uniform() + 0.5 * shared * Float(j % 3) }
            }
            inputs = x
            statistics = InputStatistics(columns: columns, requirement: [.gram, .squaredNorms])
            // Two sequences, to exercise the running average.
            let half = tokens / 2 * columns
            x.withUnsafeBufferPointer { all in
                statistics.accumulate(UnsafeBufferPointer(rebasing: all[0..<half]))
                statistics.accumulate(UnsafeBufferPointer(rebasing: all[half...]))
            }
        }

        func work(sparsity: Double) -> MatrixWork {
            let work = MatrixWork(
                name: "blk.0.attn_q.weight", layer: 0, part: .query, rows: rows, columns: columns,
                weights: TensorStorage(weights), statistics: statistics)
            work.sparsity = sparsity
            return work
        }

        /// The oracle on the same Gram matrix, damped like the engine.
        func oracle(damping: Double = 0.01, dead: Int? = 3) -> TextbookOBS {
            let gram = statistics.gram!.buffer
            var h = [Double](repeating: 0, count: columns * columns)
            for i in 0..<columns {
                for j in i..<columns {
                    h[i * columns + j] = Double(gram[i * columns + j])
                    h[j * columns + i] = h[i * columns + j]
                }
            }
            var w = weights.map(Double.init)
            for j in 0..<columns where h[j * columns + j] == 0 {
                h[j * columns + j] = 1
                for r in 0..<rows { w[r * columns + j] = 0 }
            }
            let mean = (0..<columns).reduce(0.0) { $0 + h[$1 * columns + $1] } / Double(columns)
            for j in 0..<columns { h[j * columns + j] += damping * mean }
            return TextbookOBS(rows: rows, columns: columns, weights: w, hessian: h)
        }

        /// Σ over tokens of ‖x (W − Ŵ)ᵀ‖².
        func outputError(_ pruned: [Float]) -> Double {
            let tokens = inputs.count / columns
            var total = 0.0
            for t in 0..<tokens {
                for r in 0..<rows {
                    var y = 0.0
                    for j in 0..<columns {
                        y +=
                            Double(inputs[t * columns + j]) * Double(weights[r * columns + j] - pruned[r * columns + j])
                    }
                    total += y * y
                }
            }
            return total
        }
    }

    static func expectClose(_ actual: [Float], _ expected: [Double], _ what: String) {
        let scale = expected.map(abs).max() ?? 1
        for (i, (a, e)) in zip(actual, expected).enumerated()
        where abs(Double(a) - e) > 1e-4 * max(abs(e), 0.01 * scale) {
            Issue.record("\(what): weight \(i) is \(a), oracle \(e)")
            return
        }
    }

    @Test(
        "unstructured: masks equal and weights within 1e-4 of the textbook OBS",
        arguments: [(8, 8), (5, 16), (24, 5), (8, 130)])
    func unstructured(blocksize: Int, rows: Int) throws {
        let layer = Layer(rows: rows, columns: 24, seed: UInt64(blocksize * 31 + rows))
        let work = layer.work(sparsity: 0.5)
        try SparseGPTReconstructor(maskSource: .adaptive(.unstructured), blocksize: blocksize).run(work)
        var oracle = layer.oracle()
        let mask = oracle.prune(sparsity: 0.5, blocksize: blocksize)
        #expect(work.mask == mask)
        Self.expectClose(work.weights.array, oracle.weights, "blocksize \(blocksize)")
        #expect(work.weights.array.enumerated().allSatisfy { work.mask[$0.offset] == 0 || $0.element == 0 })
    }

    @Test("2:4 and 4:8: lazy group masks equal the textbook OBS")
    func nm() throws {
        for (keep, group) in [(2, 4), (4, 8)] {
            let layer = Layer(rows: 6, columns: 32, seed: UInt64(group))
            let work = layer.work(sparsity: 0.5)
            try SparseGPTReconstructor(maskSource: .adaptive(.nm(keep: keep, group: group)), blocksize: 16).run(work)
            var oracle = layer.oracle()
            let mask = oracle.prune(sparsity: 0.5, blocksize: 16, groupPrune: group - keep, group: group)
            #expect(work.mask == mask, "\(keep):\(group)")
            Self.expectClose(work.weights.array, oracle.weights, "\(keep):\(group)")
            for base in stride(from: 0, to: work.mask.count, by: group) {
                #expect(work.mask[base..<base + group].reduce(0) { $0 + Int($1) } == group - keep)
            }
        }
    }

    @Test("with H = I no weight moves: block-wise magnitude selection")
    func identityHessian() throws {
        let columns = 16, rows = 4
        let statistics = InputStatistics(columns: columns, requirement: .gram)
        var eye = [Float](repeating: 0, count: columns * columns)
        for j in 0..<columns { eye[j * columns + j] = 1 }
        eye.withUnsafeBufferPointer { statistics.accumulate($0) }
        var rng = SplitMix64(seed: 5)
        let weights = (0..<rows * columns).map { _ in rng.nextUnitFloat() - 0.5 }
        let work = MatrixWork(
            name: "w", layer: 0, part: .up, rows: rows, columns: columns,
            weights: TensorStorage(weights), statistics: statistics)
        work.sparsity = 0.5
        try SparseGPTReconstructor(maskSource: .adaptive(.unstructured), blocksize: 8).run(work)
        for b0 in stride(from: 0, to: columns, by: 8) {
            var block: [Float] = []
            for r in 0..<rows { for j in b0..<b0 + 8 { block.append(abs(weights[r * columns + j])) } }
            let tau = block.sorted()[Int(Double(block.count) * 0.5)]
            for r in 0..<rows {
                for j in b0..<b0 + 8 {
                    let i = r * columns + j
                    #expect(work.mask[i] == (abs(weights[i]) <= tau ? 1 : 0))
                    #expect(work.weights.buffer[i] == (work.mask[i] != 0 ? 0 : weights[i]))
                }
            }
        }
    }

    @Test("a fixed mask: the update never does worse than zeroing the mask")
    func fixedMask() throws {
        let layer = Layer(rows: 8, columns: 24, dead: nil, seed: 77)
        let work = layer.work(sparsity: 0.5)
        try WandaScore().run(work)
        try RowSelector().run(work)
        let mask = work.mask
        let zeroed = (0..<layer.weights.count).map { mask[$0] != 0 ? 0 : layer.weights[$0] }
        try SparseGPTReconstructor(maskSource: .fixedMask, blocksize: 8).run(work)
        #expect(work.mask == mask)
        #expect(work.weights.array.enumerated().allSatisfy { mask[$0.offset] == 0 || $0.element == 0 })
        #expect(layer.outputError(work.weights.array) < layer.outputError(zeroed))
    }

    @Test("a singular Hessian without damping retries with more damping and says so")
    func dampingRetry() throws {
        let layer = Layer(rows: 4, columns: 24, tokens: 8, dead: nil, seed: 3) // rank ≤ 8 < 24
        let work = layer.work(sparsity: 0.5)
        try SparseGPTReconstructor(maskSource: .adaptive(.unstructured), blocksize: 8, damping: 0).run(work)
        let retried = work.notes.contains { $0.contains("damping") }
        #expect(retried, "\(work.notes)")
        let finite = work.weights.array.allSatisfy { $0.isFinite }
        #expect(finite)
    }

    @Test("bad settings are refused")
    func badSettings() {
        #expect(throws: PruneError.self) { try SparseGPTReconstructor(maskSource: .fixedMask, blocksize: 0) }
        #expect(throws: PruneError.self) { try SparseGPTReconstructor(maskSource: .fixedMask, damping: -1) }
        #expect(throws: PruneError.self) {
            try SparseGPTReconstructor(maskSource: .adaptive(.nm(keep: 2, group: 8)), blocksize: 12)
        }
        let layer = Layer(rows: 2, columns: 24, seed: 1)
        #expect(throws: PruneError.self) {
            try SparseGPTReconstructor(maskSource: .fixedMask).run(layer.work(sparsity: 0.5))
        }
        #expect(throws: PruneError.self) {
            try SparseGPTReconstructor(maskSource: .adaptive(.nm(keep: 3, group: 16)), blocksize: 16).run(
                layer.work(sparsity: 0.5))
        }
    }
}
