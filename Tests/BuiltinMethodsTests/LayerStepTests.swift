import BuiltinMethods
import Inference
import ModelIO
import PruningEngine
import Synchronization
import TestSupport
import Testing

/// The layer stage: a step that sees the whole block, sets per-row masks jointly, re-runs the
/// layer with candidate weights, and removes structured units.
@Suite struct LayerStepTests {
    /// Prunes row r of every matrix to (r mod 3) quarters of its lowest-scored weights, and measures
    /// its own reconstruction error with the layer routine before the engine does.
    final class RowBudget: LayerStep, @unchecked Sendable {
        // @unchecked Sendable: written by the engine's single thread, read by the test after it.
        let name = "row-budget"
        let requirement: StatisticsRequirement = []
        var ownErrors: [Int: Double] = [:]
        var windowsSeen: [Int] = []

        func run(layer work: LayerWork) throws(PruneError) {
            var candidates: [String: TensorStorage] = [:]
            for matrix in work.matrices {
                precondition(matrix.scores.count == matrix.rows * matrix.columns, "the criterion ran first")
                var mask = [UInt8](repeating: 0, count: matrix.rows * matrix.columns)
                for row in 0..<matrix.rows {
                    let pruned = (row % 3) * matrix.columns / 4
                    let order = (0..<matrix.columns).sorted { a, b in
                        let sa = matrix.scores[row * matrix.columns + a], sb = matrix.scores[row * matrix.columns + b]
                        return sa != sb ? sa < sb : a < b
                    }
                    for column in order.prefix(pruned) { mask[row * matrix.columns + column] = 1 }
                }
                matrix.mask = mask
                candidates[matrix.name] = TensorStorage(count: mask.count) { buffer in
                    for i in 0..<mask.count { buffer[i] = mask[i] == 1 ? 0 : matrix.weights.buffer[i] }
                }
            }
            var difference = 0.0, norm = 0.0
            windowsSeen.append(work.windowCount)
            for window in 0..<work.windowCount {
                let dense = work.denseOutput(window: window)
                var output = [Float](repeating: 0, count: dense.count)
                try output.withUnsafeMutableBufferPointer { buffer throws(PruneError) in
                    try work.run(window: window, into: buffer.baseAddress!, weights: candidates)
                }
                for i in 0..<dense.count {
                    let delta = Double(dense[i]) - Double(output[i])
                    difference += delta * delta
                    norm += Double(dense[i]) * Double(dense[i])
                }
            }
            ownErrors[work.layer] = difference / norm
        }
    }

    /// Removes query heads 0 and 2 (one per KV group) of every layer.
    struct DropHeads: LayerStep {
        let name = "drop-heads"
        let requirement: StatisticsRequirement = []
        func run(layer work: LayerWork) throws(PruneError) {
            try work.remove(.queryHeads(layer: work.layer, [0, 2]))
        }
    }

    @Test("a layer step sets per-row sparsities across the block and sees the same layer the engine runs")
    func perRowMasks() throws {
        let model = try TinyModel.make()
        let dense = try TinyModel.make()
        let step = RowBudget()
        let steps: [any PruneStep] = [try UniformSparsity(0), WandaScore(), step]
        let report = try Pruner(model: model, steps: steps).run(calibration: PrunerTests.windows())
        #expect(step.windowsSeen == [3, 3])
        for layer in report.layers {
            // The engine's error of the pruned layer is the step's own, measured with the same routine.
            let own = try #require(step.ownErrors[layer.layer])
            let engine = try #require(layer.outputError)
            #expect(own > 0 && abs(own - engine) <= 1e-12 * engine, "layer \(layer.layer): \(own) vs \(engine)")
        }
        for part in LinearMatrix.parts {
            let pruned = model.tensor(part.name(layer: 1))!, original = dense.tensor(part.name(layer: 1))!
            for row in 0..<pruned.rows {
                let zeros = (0..<pruned.columns).count { pruned.storage.buffer[row * pruned.columns + $0] == 0 }
                #expect(zeros == (row % 3) * pruned.columns / 4, "\(part) row \(row)")
                for column in 0..<pruned.columns where pruned.storage.buffer[row * pruned.columns + column] != 0 {
                    #expect(
                        pruned.storage.buffer[row * pruned.columns + column]
                            == original.storage.buffer[row * pruned.columns + column])
                }
            }
        }
    }

    @Test("a layer step removes heads: the model shrinks and later layers see the shrunk layer's output")
    func structuredRemoval() throws {
        let model = try TinyModel.make()
        let manual = try TinyModel.make()
        let steps: [any PruneStep] = [try UniformSparsity(0), DropHeads()]
        let report = try Pruner(model: model, steps: steps).run(calibration: PrunerTests.windows())
        for layer in 0..<2 { try manual.remove(.queryHeads(layer: layer, [0, 2])) }
        #expect(model.config == manual.config)
        #expect(model.config.layers.allSatisfy { $0.headCount == 2 && $0.kvHeadCount == 2 })
        for tensor in manual.tensors { #expect(model.tensor(tensor.name)?.storage.array == tensor.storage.array) }
        #expect(report.layers.count == 2 && report.layers.allSatisfy { ($0.outputError ?? 0) > 0 })
        let bad = #expect(throws: PruneError.self) {
            try Pruner(model: try TinyModel.make(), steps: [try UniformSparsity(0), BadRemoval()])
                .run(calibration: PrunerTests.windows())
        }
        #expect(bad?.message == "layer 0: a layer step cannot change layer 1")
    }

    /// Tries to change another layer.
    struct BadRemoval: LayerStep {
        let name = "bad-removal"
        let requirement: StatisticsRequirement = []
        func run(layer work: LayerWork) throws(PruneError) { try work.remove(.ffn(layer: work.layer + 1)) }
    }

    @Test("a cancelled prune stops with the reason before the next matrix or window")
    func cancellation() throws {
        let model = try TinyModel.make()
        var options = PruneOptions()
        let cancellation = Cancellation()
        options.cancellation = cancellation
        options.onLayer = { layer, _ in if layer == 0 { cancellation.cancel(.timedOut) } }
        let error = #expect(throws: PruneError.self) {
            try Pruner(model: model, steps: try PruneMethod.wanda(sparsity: 0.5), options: options)
                .run(calibration: PrunerTests.windows())
        }
        #expect(error?.cancellation == .timedOut)
        #expect(error?.message == "pruning stopped: timed out")
        // Layer 1 was never pruned.
        #expect(
            model.tensor("blk.1.attn_q.weight")?.storage.array
                == (try TinyModel.make()).tensor("blk.1.attn_q.weight")?.storage.array)
    }
}
