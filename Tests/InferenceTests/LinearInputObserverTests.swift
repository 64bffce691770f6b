import Inference
import ModelIO
import Testing
import TestSupport

@Suite struct LinearInputObserverTests {
    @Test("the observer sees every linear layer's input with its shape, once per part")
    func observerSeesInputs() throws {
        let model = try TinyModel.make()
        let c = model.config
        let tokens: [Int32] = [5, 17, 42, 99, 7]
        let forward = try ForwardPass(model: model, capacity: 8)
        var seen: [(layer: Int, part: LlamaTensorNames.Layer, rows: Int, columns: Int)] = []
        var firstQueryInput: [Float] = []
        forward.linearInputObserver = { input in
            seen.append((input.layer, input.part, input.rows, input.columns))
            if input.layer == 0 && input.part == .query { firstQueryInput = Array(input.values) }
        }
        let observed = try forward.logits(appending: tokens)
        #expect(seen.count == c.layerCount * 7)
        for (i, entry) in seen.enumerated() {
            let part = [LlamaTensorNames.Layer.query, .key, .value, .attentionOutput, .gate, .up, .down][i % 7]
            let width = part.shape(c)[1]
            #expect(entry.layer == i / 7 && entry.part == part && entry.rows == tokens.count && entry.columns == width)
        }
        // Layer 0's q/k/v input is the RMS-normed embedding.
        let embedding = model.tensor(LlamaTensorNames.tokenEmbedding)!.storage.array
        let norm = model.tensor(LlamaTensorNames.Layer.attentionNorm.name(layer: 0))!.storage.array
        for (row, id) in tokens.enumerated() {
            let x = embedding[Int(id) * c.hiddenSize..<(Int(id) + 1) * c.hiddenSize].map(Double.init)
            let inv = 1 / (x.reduce(0) { $0 + $1 * $1 } / Double(c.hiddenSize) + Double(c.rmsNormEpsilon)).squareRoot()
            for i in 0..<c.hiddenSize {
                let expected = x[i] * inv * Double(norm[i])
                #expect(abs(Double(firstQueryInput[row * c.hiddenSize + i]) - expected) <= 1e-5 * (1 + abs(expected)))
            }
        }
        let plain = try ForwardPass(model: model, capacity: 8).logits(appending: tokens)
        #expect(observed == plain)
    }
}
