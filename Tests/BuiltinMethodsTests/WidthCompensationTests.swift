import BuiltinMethods
import Foundation
import Inference
import ModelIO
import PruningEngine
import TestSupport
import Testing

/// Ridge compensation on SmolLM2: half the FFN channels of four layers removed by magnitude,
/// the kept `ffn_down` columns refit on 16 calibration windows of 512 tokens. Measured against no
/// compensation: the layer-output error on those windows, and perplexity on two test chunks. About
/// 3.5 minutes on the loaded 2-core machine, so it runs with `SHEARS_LONG_TESTS=1` only (the tiny
/// model's `UnitRemovalTests` checks the same refit in milliseconds).
@Suite(.serialized, .enabled(if: ReferenceData.hasModel && ReferenceData.hasData && ReferenceData.longTests))
struct WidthCompensationTests {
    /// Layers 8 to 11.
    static let layers = Array(8..<12)

    /// Sixteen calibration windows of 512 ids.
    static func windows() throws -> [[Int32]] {
        try Array(SmolLM2Fixtures.calibration().prefix(16))
    }

    /// A fresh SmolLM2 pruned by the step with `compensation`.
    static func prune(_ compensation: WidthCompensation) throws -> Model {
        let model = try SmolLM2Fixtures.model()
        let step = try UnitRemoval(
            unit: .channels, criterion: .magnitude, ratio: 0.5, layers: layers, compensation: compensation)
        _ = try Pruner(model: model, steps: [step]).run(calibration: try windows())
        return model
    }

    @Test("ridge lowers the FFN output error on the calibration windows and the perplexity on two test chunks")
    func ridgeOnSmolLM2() throws {
        let dense = try SmolLM2Fixtures.model()
        let none = try Self.prune(.none), ridge = try Self.prune(.ridge(lambda: 0.01))
        let windows = try Self.windows()
        let inputs = try StructuredFixtures.denseInputs(dense, windows, .ffnHidden, layers: Set(Self.layers))
        let hidden = dense.config.hiddenSize, ffn = dense.config.layers[8].ffnSize
        for layer in Self.layers {
            let gateName = "blk.\(layer).ffn_gate.weight", downName = "blk.\(layer).ffn_down.weight"
            let gate = dense.tensor(gateName)!.storage.array, pruned = none.tensor(gateName)!.storage.array
            let rowsByContent = Dictionary(
                uniqueKeysWithValues: (0..<ffn).map { (Array(gate[($0 * hidden)..<(($0 + 1) * hidden)]), $0) })
            let kept = (0..<(pruned.count / hidden)).map {
                rowsByContent[Array(pruned[($0 * hidden)..<(($0 + 1) * hidden)])]!
            }
            #expect(ridge.tensor(gateName)!.storage.array == pruned, "the same channels removed")
            let w = dense.tensor(downName)!.storage.array
            /// Σ over every 16th token of the windows of ‖W x − W' x_K‖², relative to Σ ‖W x‖².
            func error(_ model: Model) -> Double {
                let refit = model.tensor(downName)!.storage.array
                var total = 0.0, reference = 0.0
                for x in inputs[layer] {
                    for t in stride(from: 0, to: x.count / ffn, by: 16) {
                        let row = t * ffn
                        for out in 0..<hidden {
                            var full = 0.0, part = 0.0
                            for j in 0..<ffn { full += Double(w[out * ffn + j]) * Double(x[row + j]) }
                            for (k, j) in kept.enumerated() {
                                part += Double(refit[out * kept.count + k]) * Double(x[row + j])
                            }
                            total += (full - part) * (full - part)
                            reference += full * full
                        }
                    }
                }
                return total / reference
            }
            let (errorNone, errorRidge) = (error(none), error(ridge))
            print("layer \(layer): relative output error ridge \(errorRidge), none \(errorNone)")
            #expect(errorRidge < 0.9 * errorNone, "layer \(layer): ridge \(errorRidge), none \(errorNone)")
        }
        let ids = try ReferenceData.int32s("wikitext2-test.smollm2-ids.i32")
        let perplexityNone = try PerplexityEvaluator(model: none).evaluate(tokens: ids, seqlen: 2048, maxChunks: 2)
        let perplexityRidge = try PerplexityEvaluator(model: ridge).evaluate(tokens: ids, seqlen: 2048, maxChunks: 2)
        print("ridge perplexity \(perplexityRidge.perplexity), none \(perplexityNone.perplexity)")
        #expect(perplexityRidge.perplexity < perplexityNone.perplexity)
    }
}
