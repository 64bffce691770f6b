import BuiltinMethods
import Foundation
import Inference
import ModelIO
import PruningEngine
import TestSupport
import Testing

/// The parameters of one block of a uniform model.
enum StructuredBlockSize {
    /// Every tensor of layer 0, counted.
    static func parameters(_ model: Model) -> Int {
        LlamaTensorNames.Layer.allCases.reduce(0) { $0 + (model.tensor($1.name(layer: 0))?.count ?? 0) }
    }
}

/// Depth pruning by Shortened LLaMA's perplexity and Taylor+ criteria and Minitron's Block
/// Influence, as a model step of the engine.
@Suite struct BlockRemovalTests {
    /// An eight-block tiny model.
    static func model(seed: UInt64 = 8) throws -> Model {
        var config = TinyModel.config
        config.layers = Array(repeating: config.layers[0], count: 8)
        return try TinyModel.make(config, seed: seed)
    }

    /// Three windows of 20 random ids.
    static let windows: [[Int32]] = (0..<3).map { window in
        var rng = SplitMix64(seed: UInt64(40 + window))
        return (0..<20).map { _ in Int32(rng.next() % UInt64(TinyModel.config.vocabSize)) }
    }

    /// The calibration perplexity of `model` after physically removing `block`.
    static func perplexityWithout(_ block: Int) throws -> Double {
        let model = try Self.model()
        try model.remove(.blocks([block]))
        let forward = try ForwardPass(model: model, capacity: 20)
        var total = 0.0, count = 0
        for window in windows {
            for value in try forward.negativeLogLikelihoods(window) {
                total += Double(value)
                count += 1
            }
        }
        return exp(total / Double(count))
    }

    @Test("each block's score is the calibration perplexity of the model with the block removed")
    func scores() throws {
        let model = try Self.model()
        let report = try Pruner(model: model, steps: [try BlockRemoval(count: 3, keepEnds: false)])
            .run(calibration: Self.windows)
        let step = try #require(report.modelSteps.first)
        #expect(step.blockScores.keys.sorted() == Array(0..<8))
        for block in 0..<8 {
            #expect(step.blockScores[block] == (try Self.perplexityWithout(block)), "block \(block)")
        }
        let order = (0..<8).sorted { step.blockScores[$0]! < step.blockScores[$1]! }
        #expect(step.removedBlocks == Array(order.prefix(3)).sorted())
        #expect(model.config.layerCount == 5)
        #expect(report.layers.isEmpty && report.calibrationWindows == 3)
    }

    @Test("the + heuristic keeps the first four and the last two blocks")
    func keepEnds() throws {
        let model = try Self.model()
        let report = try Pruner(model: model, steps: [try BlockRemoval(count: 2)]).run(calibration: Self.windows)
        #expect(report.modelSteps.first?.removedBlocks == [4, 5])
        #expect(BlockRemoval.protectedBlocks(layers: 30) == [0, 1, 2, 3, 28, 29])
    }

    @Test("matrix steps after it prune the blocks that are left")
    func chain() throws {
        let model = try Self.model()
        let steps = try [BlockRemoval(count: 2, keepEnds: false)] + PruneMethod.wanda(sparsity: 0.5)
        let report = try Pruner(model: model, steps: steps).run(calibration: Self.windows)
        #expect(model.config.layerCount == 6)
        #expect(report.layers.map(\.layer) == Array(0..<6))
        #expect(abs(report.sparsity - 0.5) < 1e-3)
    }

    @Test("taylor+ scores a block by Σ|W⊙g| over its matrices and norms, from one gradient of the mean NLL")
    func taylorPlus() throws {
        let dense = try Self.model()
        var expected = [Double](repeating: 0, count: 8)
        _ = try ModelGradients(model: dense).weights(windows: Self.windows) { tensor in
            guard let (layer, _, _) = LlamaTensorNames.parse(tensor.name) else { return }
            let w = dense.tensor(tensor.name)!.storage.array, g = tensor.gradient.array
            expected[layer] += zip(w, g).reduce(0.0) { $0 + Double(abs($1.0 * $1.1)) }
        }
        let model = try Self.model()
        let report = try Pruner(model: model, steps: [try BlockRemoval(count: 2, criterion: .taylorPlus)])
            .run(calibration: Self.windows)
        let step = try #require(report.modelSteps.first)
        #expect(step.step == "blocks-taylor+")
        for block in 0..<8 {
            #expect(abs(step.blockScores[block]! - expected[block]) <= 1e-9 * expected[block], "block \(block)")
        }
        // Blocks 4 and 5 are the only candidates with the ends kept.
        #expect(step.removedBlocks == [4, 5])
        let free = try Self.model()
        let freeReport = try Pruner(
            model: free, steps: [try BlockRemoval(count: 3, criterion: .taylorPlus, keepEnds: false)]
        ).run(calibration: Self.windows)
        #expect(freeReport.modelSteps.first?.removedBlocks == UnitRemovalTests.lowest(expected, 3))
    }

    @Test("bi scores a block by Σ_windows (1 − mean_t cos(input, output)) over the dense stream")
    func blockInfluence() throws {
        let dense = try Self.model()
        let hidden = dense.config.hiddenSize
        let forward = try DecoderLayerForward(model: dense, capacity: 20)
        let embedding = dense.tensor(LlamaTensorNames.tokenEmbedding)!.storage.array
        var expected = [Double](repeating: 0, count: 8)
        for window in Self.windows {
            var state = window.flatMap { embedding[(Int($0) * hidden)..<((Int($0) + 1) * hidden)] }
            for layer in 0..<8 {
                let input = state
                try state.withUnsafeMutableBufferPointer { buffer in
                    try forward.run(
                        layer: layer, input: buffer.baseAddress!, rows: window.count, output: buffer.baseAddress!,
                        observe: nil)
                }
                let cosines = (0..<window.count).reduce(0.0) { total, t in
                    let x = input[(t * hidden)..<((t + 1) * hidden)].map(Double.init)
                    let y = state[(t * hidden)..<((t + 1) * hidden)].map(Double.init)
                    let dot = zip(x, y).reduce(0.0) { $0 + $1.0 * $1.1 }
                    let norms = (x.reduce(0.0) { $0 + $1 * $1 } * y.reduce(0.0) { $0 + $1 * $1 }).squareRoot()
                    return total + dot / norms
                }
                expected[layer] += 1 - cosines / Double(window.count)
            }
        }
        let model = try Self.model()
        let report = try Pruner(model: model, steps: [try BlockRemoval(count: 3, criterion: .bi, keepEnds: false)])
            .run(calibration: Self.windows)
        let step = try #require(report.modelSteps.first)
        for block in 0..<8 {
            #expect(abs(step.blockScores[block]! - expected[block]) <= 1e-9, "block \(block)")
        }
        #expect(step.removedBlocks == UnitRemovalTests.lowest(expected, 3))
        #expect(model.config.layerCount == 5)
    }

    @Test("params removes the number of least important blocks whose parameters come closest")
    func parameterBudget() throws {
        let model = try Self.model()
        let before = model.parameterCount
        let block = StructuredBlockSize.parameters(model)
        // 2.4 blocks' worth: two blocks come closest.
        let fraction = 2.4 * Double(block) / Double(before)
        let report = try Pruner(
            model: model, steps: [try BlockRemoval(parameters: fraction, criterion: .bi, keepEnds: false)]
        ).run(calibration: Self.windows)
        #expect(model.config.layerCount == 6)
        #expect(
            report.modelSteps.first?.notes == [
                "params \(fraction): 2 blocks remove \(2 * block) of \(before) parameters"
            ])
        #expect(throws: PruneError("blocks: params must be in (0, 1), got 1.0")) {
            try BlockRemoval(parameters: 1)
        }
    }

    @Test("impossible removals are refused before any work")
    func refusals() throws {
        #expect(throws: PruneError("blocks: remove must be at least 1, got 0")) { try BlockRemoval(count: 0) }
        let model = try Self.model()
        let error = #expect(throws: PruneError.self) {
            try Pruner(model: model, steps: [try BlockRemoval(count: 3)])
        }
        #expect(
            error?.message
                == "blocks: cannot remove 3 of 8 blocks with the first four and the last two kept (keep_ends = false allows more); at least one block must stay"
        )
        #expect(throws: PruneError.self) {
            try Pruner(model: model, steps: [try BlockRemoval(count: 8, keepEnds: false)])
        }
        #expect(throws: PruneError("blocks-ppl needs calibration windows")) {
            try Pruner(model: model, steps: [try BlockRemoval(count: 1)]).run(calibration: [])
        }
        #expect(model.config.layerCount == 8)
    }
}
