import BuiltinMethods
import Foundation
import Inference
import ModelIO
import PruningEngine
import TestSupport
import Testing

/// Depth pruning by Shortened LLaMA's perplexity criterion, as a model step of the engine.
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
