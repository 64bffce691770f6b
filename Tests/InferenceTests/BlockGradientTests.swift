import Foundation
import Inference
import ModelIO
import TestSupport
import Testing

/// Block-level gradients (`BlockGradients`: one decoder layer's reverse pass over its forward
/// record) against central finite differences of the Double reference layer: with respect to
/// the block input, every weight and per-weight soft masks, on uniform and heterogeneous layers.
@Suite struct BlockGradientTests {
    /// The loss `Σ C ⊙ layer(x)` of the Double reference layer.
    static func loss(
        _ model: Model, layer: Int, input: [Double], cotangent: [Float], overrides: [String: [Double]]
    ) -> Double {
        let hidden = model.config.hiddenSize
        let states = stride(from: 0, to: input.count, by: hidden).map { Array(input[$0..<$0 + hidden]) }
        let output = ReferenceForward.layer(
            model, layer, states, weight: ReferenceForward.weights(model, overrides)
        ).flatMap { $0 }
        return zip(cotangent, output).reduce(0) { $0 + Double($1.0) * $1.1 }
    }

    @Test("input, weight and soft-mask gradients of every layer", arguments: [1, 7, 33])
    func everyLayer(rows: Int) throws {
        for (name, model) in try DecoderLayerTests.models() {
            let c = model.config
            let blocks = try BlockGradients(model: model, capacity: rows)
            for layer in 0..<c.layerCount {
                var rng = SplitMix64(seed: UInt64(100 * layer + rows))
                let input = FiniteDifferences.random(rows * c.hiddenSize, rng: &rng)
                let cotangent = FiniteDifferences.random(rows * c.hiddenSize, rng: &rng)
                // Soft masks on one attention and one FFN matrix, where the layer has them.
                var masks: [String: [Float]] = [:]
                for part in [LlamaTensorNames.Layer.query, .down] where part.exists(in: c.layers[layer]) {
                    let count = part.shape(c, layer: layer).reduce(1, *)
                    masks[part.name(layer: layer)] = (0..<count).map { _ in rng.nextUnitFloat() }
                }
                let before = masks.keys.map { model.tensor($0)!.storage.array }
                let result = try blocks.run(layer: layer, input: input, rows: rows, masks: masks) { _ in cotangent }
                // The model is left as it was.
                #expect(masks.keys.map { model.tensor($0)!.storage.array } == before)
                // Effective (masked) weights in Double, as the reference must use them.
                var effective: [String: [Double]] = [:]
                for (tensor, mask) in masks where !(rows == 1 && tensor.contains("attn_q")) {
                    let w = model.tensor(tensor)!.storage.array
                    effective[tensor] = (0..<w.count).map { Double(w[$0] * mask[$0]) }
                }
                let x = input.map(Double.init)
                func f(_ input: [Double], _ overrides: [String: [Double]]) -> Double {
                    Self.loss(model, layer: layer, input: input, cotangent: cotangent, overrides: overrides)
                }
                let inputError = FiniteDifferences.worstError(
                    analytic: result.inputGradient, of: { f($0, effective) }, at: x, count: 12)
                #expect(inputError < 5e-6, "\(name) layer \(layer) input: \(inputError)")
                for (tensor, gradient) in result.weights {
                    // One row attends only to itself: the loss does not depend on q and k.
                    if rows == 1, let part = LlamaTensorNames.parse(tensor)?.part, part == .query || part == .key {
                        #expect(gradient.allSatisfy { abs($0) < 1e-6 }, "\(name) \(tensor) should vanish")
                        continue
                    }
                    let w = effective[tensor] ?? model.tensor(tensor)!.storage.array.map(Double.init)
                    let error = FiniteDifferences.worstError(
                        analytic: gradient, of: { w in f(x, effective.merging([tensor: w]) { $1 }) }, at: w, count: 6)
                    #expect(error < 5e-6, "\(name) \(tensor): \(error)")
                }
                for (tensor, mask) in masks where !(rows == 1 && tensor.contains("attn_q")) {
                    let w = model.tensor(tensor)!.storage.array
                    let error = FiniteDifferences.worstError(
                        analytic: result.masks[tensor]!,
                        of: { m in f(x, effective.merging([tensor: (0..<m.count).map { Double(w[$0]) * m[$0] }]) { $1 })
                        },
                        at: mask.map(Double.init), count: 6)
                    #expect(error < 5e-6, "\(name) mask of \(tensor): \(error)")
                }
            }
        }
    }

    @Test("a mask that names no tensor of the layer is refused, naming it")
    func badMask() throws {
        let model = try TinyModel.make(seed: 3)
        let blocks = try BlockGradients(model: model, capacity: 4)
        let input = [Float](repeating: 0.5, count: 4 * model.config.hiddenSize)
        #expect(throws: InferenceError.self) {
            try blocks.run(layer: 0, input: input, rows: 4, masks: ["blk.1.attn_q.weight": []]) { $0 }
        }
        #expect(throws: InferenceError.self) { try blocks.run(layer: 2, input: input, rows: 4) { $0 } }
    }
}
