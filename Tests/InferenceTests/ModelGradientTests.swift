import Foundation
import Inference
import ModelIO
import TestSupport
import Testing

/// Model-level gradients (`ModelGradients`) against central finite differences of the Double
/// reference's mean next-token loss; the Fisher accumulator against per-window gradients; unit
/// gates against the directional derivatives of the weight gradients; bad input.
@Suite struct ModelGradientTests {
    /// Untied uniform GQA, tied with Llama 3.1 RoPE scaling and a sliding window shorter than the
    /// longer window, Qwen2's q/k/v biases (also with YaRN), Qwen3's q/k norms with a head size that does not split
    /// the hidden size, and the heterogeneous five-layer model (also with biases).
    static func models() throws -> [(String, Model)] {
        var tied = TinyModel.config
        tied.tiedEmbedding = true
        tied.ropeScaling = .llama3(factor: 8, lowFrequencyFactor: 1, highFrequencyFactor: 4, originalContextLength: 64)
        tied.slidingWindow = 5
        var qwen2 = TinyModel.config
        qwen2.attentionBiases = true
        var qwen3 = TinyModel.config
        qwen3.queryKeyNorm = true
        qwen3.headDim = 4
        var yarn = qwen2
        yarn.ropeScaling = .yarn(
            factor: 4, originalContextLength: 16, betaFast: 32, betaSlow: 1,
            attentionFactor: RopeScaling.yarnAttentionFactor(4))
        return [
            ("uniform", try TinyModel.make(seed: 3)), ("tied, scaled, windowed", try TinyModel.make(tied, seed: 4)),
            ("q/k/v biases (Qwen2)", try TinyModel.make(qwen2, seed: 8)),
            ("q/k/v biases, YaRN", try TinyModel.make(yarn, seed: 10)),
            ("q/k norms, head size 4 (Qwen3)", try TinyModel.make(qwen3, seed: 9)),
            ("heterogeneous", try TinyModel.heterogeneous()),
            ("heterogeneous with biases", try TinyModel.heterogeneous(biases: true)),
        ]
    }

    /// Windows of 7 and 33 tokens.
    static func windows(vocab: Int) -> [[Int32]] {
        [ForwardPassTests.tokens(7, vocab: vocab, seed: 21), ForwardPassTests.tokens(33, vocab: vocab, seed: 22)]
    }

    /// Every tensor's gradient, by name.
    static func gradients(
        _ model: Model, _ windows: [[Int32]], fisher: Bool = false, order: WeightGradientOrder = .layers,
        keptLayers: Int? = nil
    ) throws -> (
        loss: Double, tensors: [String: TensorGradient]
    ) {
        var tensors: [String: TensorGradient] = [:]
        let loss = try ModelGradients(model: model).weights(
            windows: windows, fisher: fisher, order: order, keptLayers: keptLayers
        ) {
            tensors[$0.name] = $0
        }
        return (loss, tensors)
    }

    @Test(
        "every weight's gradient of the mean NLL matches finite differences, in either order, kept, recomputed or both",
        arguments: WeightGradientOrder.allCases, [0, 2, Int.max])
    func weightsMatchFiniteDifferences(order: WeightGradientOrder, kept: Int) throws {
        for (name, model) in try Self.models() {
            let windows = Self.windows(vocab: model.config.vocabSize)
            let (loss, tensors) = try Self.gradients(model, windows, order: order, keptLayers: kept)
            #expect(Set(tensors.keys) == Set(model.tensors.map(\.name)), "\(name): one gradient per tensor")
            #expect(abs(loss - ReferenceForward.meanLoss(model, windows)) < 1e-5)
            for (tensor, gradient) in tensors.sorted(by: { $0.key < $1.key }) {
                let w = model.tensor(tensor)!.storage.array.map(Double.init)
                let error = FiniteDifferences.worstError(
                    analytic: Array(gradient.gradient.buffer),
                    of: { ReferenceForward.meanLoss(model, windows, overrides: [tensor: $0]) }, at: w, count: 5)
                #expect(error < 5e-6, "\(name) \(tensor): \(error)")
            }
        }
    }

    @Test(
        "the Fisher estimate is the mean over windows of each window's own squared gradient",
        arguments: WeightGradientOrder.allCases)
    func fisher(order: WeightGradientOrder) throws {
        for (name, model) in try Self.models() {
            let windows = Self.windows(vocab: model.config.vocabSize)
            let (_, both) = try Self.gradients(
                model, windows, fisher: true, order: order, keptLayers: order == .windows ? Int.max : 0)
            let total = Float(windows.reduce(0) { $0 + $1.count - 1 })
            let single = try windows.map { try Self.gradients(model, [$0]).tensors }
            for (tensor, gradient) in both {
                let squared = Array(gradient.squared!.buffer)
                var expected = [Float](repeating: 0, count: squared.count)
                var sum = [Float](repeating: 0, count: squared.count)
                for (window, tensors) in zip(windows, single) {
                    let share = Float(window.count - 1) / total
                    for (i, g) in tensors[tensor]!.gradient.buffer.enumerated() {
                        expected[i] += g * g / Float(windows.count)
                        sum[i] += g * share
                    }
                }
                let scale = expected.map(abs).max()!, sumScale = sum.map(abs).max()!
                let worst = zip(squared, expected).map { abs($0 - $1) }.max()! / scale
                let sumWorst = zip(Array(gradient.gradient.buffer), sum).map { abs($0 - $1) }.max()! / sumScale
                #expect(worst < 2e-5, "\(name) \(tensor) squared: \(worst)")
                #expect(sumWorst < 1e-5, "\(name) \(tensor) sum: \(sumWorst)")
            }
        }
    }

    @Test("gate gradients equal Σ W ⊙ ∂L/∂W over each unit's output columns")
    func gates() throws {
        for (name, model) in try Self.models() {
            let c = model.config
            let windows = Self.windows(vocab: c.vocabSize)
            let (loss, tensors) = try Self.gradients(model, windows)
            let gates = try ModelGradients(model: model).gates(windows: windows, units: Set(GateUnit.allCases))
            #expect(abs(gates.loss - loss) < 1e-9)
            for layer in 0..<c.layerCount {
                let shape = c.layers[layer], g = gates.layers[layer]
                /// Σ over `columns` of `W ⊙ ∂L/∂W` for tensor `part` (`[hidden, width]`).
                func directional(_ part: LlamaTensorNames.Layer, _ columns: Range<Int>) -> Double {
                    let tensor = part.name(layer: layer)
                    let w = model.tensor(tensor)!.storage.array, d = Array(tensors[tensor]!.gradient.buffer)
                    let width = w.count / c.hiddenSize
                    var sum = 0.0
                    for row in 0..<c.hiddenSize {
                        for column in columns {
                            sum += Double(w[row * width + column]) * Double(d[row * width + column])
                        }
                    }
                    return sum
                }
                func check(_ actual: [Double], _ expected: [Double], _ unit: String) {
                    #expect(actual.count == expected.count, "\(name) layer \(layer) \(unit) count")
                    let scale = expected.map(abs).max() ?? 0
                    let worst = zip(actual, expected).map { abs($0 - $1) }.max() ?? 0
                    #expect(worst <= 1e-5 * scale, "\(name) layer \(layer) \(unit): \(worst / scale) relative")
                }
                let d = c.headDim
                let heads = (0..<shape.headCount).map { directional(.attentionOutput, $0 * d..<($0 + 1) * d) }
                let groups = (0..<shape.kvHeadCount).map {
                    directional(.attentionOutput, $0 * shape.groupSize * d..<($0 + 1) * shape.groupSize * d)
                }
                let channels = (0..<shape.ffnSize).map { directional(.down, $0..<$0 + 1) }
                /// `Σ b ⊙ ∂L/∂b` for the bias of `part`, if the layer has one.
                func biasShare(_ part: LlamaTensorNames.Layer) -> Double {
                    let name = part.name(layer: layer, kind: .bias)
                    guard let b = model.tensor(name)?.storage.array, let db = tensors[name]?.gradient.buffer else {
                        return 0
                    }
                    return zip(b, db).reduce(0) { $0 + Double($1.0) * Double($1.1) }
                }
                let block =
                    (shape.hasAttention ? directional(.attentionOutput, 0..<c.queryWidth(layer)) : 0)
                    + (shape.hasFFN ? directional(.down, 0..<shape.ffnSize) : 0)
                    + biasShare(.attentionOutput) + biasShare(.down)
                check(g.heads, heads, "heads")
                check(g.kvGroups, groups, "KV groups")
                check(g.channels, channels, "channels")
                check([g.block], [block], "block")
            }
        }
    }

    @Test("per-token head gates are Σ_t |∂L/∂ξ_t,h|, each token's gate derivative taken by finite differences")
    func perTokenHeadGates() throws {
        let model = try TinyModel.make(seed: 5)
        let c = model.config
        let windows = [
            ForwardPassTests.tokens(5, vocab: c.vocabSize, seed: 31),
            ForwardPassTests.tokens(4, vocab: c.vocabSize, seed: 32),
        ]
        let gates = try ModelGradients(model: model).gates(windows: windows, units: [.heads], perToken: true)
        let plain = try ModelGradients(model: model).gates(windows: windows, units: [.heads])
        /// The mean loss over `windows` with head `head` of `layer` scaled by `scale` at `position` of window `index`.
        func loss(_ index: Int, _ layer: Int, _ position: Int, _ head: Int, _ scale: Double) -> Double {
            var total = 0.0, count = 0
            for (w, window) in windows.enumerated() {
                let logits = ReferenceForward.logits(model, window) { l, p, h in
                    w == index && l == layer && p == position && h == head ? scale : 1
                }
                let nll = ReferenceForward.negativeLogLikelihoods(logits: logits, tokens: window)
                total += nll.reduce(0, +)
                count += nll.count
            }
            return total / Double(count)
        }
        let step = FiniteDifferences.step
        for layer in 0..<c.layerCount {
            for head in 0..<c.layers[layer].headCount {
                var absolute = 0.0, signed = 0.0
                for (index, window) in windows.enumerated() {
                    for position in window.indices {
                        let term =
                            (loss(index, layer, position, head, 1 + step) - loss(index, layer, position, head, 1 - step))
                            / (2 * step)
                        absolute += abs(term)
                        signed += term
                    }
                }
                let scale = max(absolute, 1e-3)
                #expect(abs(gates.layers[layer].heads[head] - absolute) < 1e-4 * scale, "layer \(layer) head \(head)")
                #expect(abs(plain.layers[layer].heads[head] - signed) < 1e-4 * scale, "layer \(layer) head \(head)")
            }
        }
    }

    @Test("bad input is refused before any work, naming what and where")
    func badInput() throws {
        let model = try TinyModel.heterogeneous()
        let gradients = ModelGradients(model: model)
        func message(_ body: () throws -> Void) -> String {
            do {
                try body()
                return ""
            } catch { return "\(error)" }
        }
        #expect(message { _ = try gradients.weights(windows: [[1, 2, 3], [4]]) { _ in } }.contains("window 1"))
        #expect(message { _ = try gradients.weights(windows: [[1, 2, 999]]) { _ in } }.contains("position 2"))
        #expect(message { _ = try gradients.weights(windows: []) { _ in } }.contains("no calibration windows"))
        var consumed = 0
        let limited = message {
            _ = try gradients.weights(windows: [[1, 2, 3]], memoryLimit: 1024) { _ in consumed += 1 }
        }
        #expect(limited.contains("over the limit of 1.0 KiB") && consumed == 0, "\(limited)")
        do {
            _ = try gradients.weights(windows: [[1, 2, 3]], memoryLimit: 1024) { _ in }
            Issue.record("a request over the limit ran")
        } catch let error as InferenceError {
            #expect(error.memoryShortfall.map { $0.limit == 1024 && $0.needed > 1024 } == true, "\(error)")
        }
        #expect(
            message { _ = try gradients.gates(windows: [[1, 2]], units: [.heads], layers: [2]) }.contains("layer 2"))
        #expect(
            message { _ = try gradients.gates(windows: [[1, 2]], units: [.kvGroups], layers: [2]) }.contains(
                "attention"))
        #expect(
            message { _ = try gradients.gates(windows: [[1, 2]], units: [.channels], layers: [4]) }.contains("no FFN"))
        #expect(
            message { _ = try gradients.gates(windows: [[1, 2]], units: [.blocks], layers: [5]) }.contains("layer 5"))
        #expect(message { _ = try gradients.gates(windows: [[1, 2]], units: [.blocks], layers: [2, 4]) }.isEmpty)
    }

    @Test("each order needs less memory where the other grows: many windows, or a large model")
    func memoryEstimates() throws {
        let model = try TinyModel.make(seed: 3)
        let gradients = ModelGradients(model: model)
        let one = [ForwardPassTests.tokens(16, vocab: model.config.vocabSize, seed: 1)]
        let many = Array(repeating: one[0], count: 400)
        #expect(gradients.cheapestOrder(windows: one, fisher: false) == .layers)
        #expect(gradients.cheapestOrder(windows: many, fisher: false) == .windows)
        let layers = gradients.memory(windows: many, fisher: false, order: .layers)
        let windows = gradients.memory(windows: many, fisher: false, order: .windows)
        #expect(layers.checkpoints == 400 * windows.checkpoints)
        #expect(windows.accumulators == model.parameterCount * 4)
        #expect(gradients.memory(windows: many, fisher: true, order: .windows).accumulators > 2 * windows.accumulators)
        let all = model.config.layerCount
        let kept = gradients.memory(windows: many, fisher: false, order: .layers, keptLayers: all)
        #expect(kept.checkpoints > 8 * layers.checkpoints / 2)
        let last = gradients.memory(windows: many, fisher: false, order: .layers, keptLayers: 1)
        #expect(last.checkpoints - layers.checkpoints == (kept.checkpoints - layers.checkpoints) / all)
    }

    @Test("by default the last layers keep their records while the request stays within the model's size")
    func selectiveCheckpointing() throws {
        let model = try TinyModel.make(seed: 3)
        let gradients = ModelGradients(model: model)
        let layers = model.config.layerCount, budget = model.parameterCount * 4
        for count in [1, 4, 40, 400] {
            let windows = Array(
                repeating: ForwardPassTests.tokens(16, vocab: model.config.vocabSize, seed: 1), count: count)
            for order in WeightGradientOrder.allCases {
                #expect(
                    gradients.keptLayers(windows: windows, fisher: false, order: order, keepActivations: true) == layers
                )
                let kept = gradients.keptLayers(windows: windows, fisher: false, order: order, keepActivations: false)
                let used = gradients.memory(windows: windows, fisher: false, order: order, keptLayers: kept)
                #expect(kept == layers || kept == 0 || used.checkpoints + used.workspace <= budget, "\(count) \(order)")
                if kept < layers {
                    let more = gradients.memory(windows: windows, fisher: false, order: order, keptLayers: kept + 1)
                    #expect(more.checkpoints + more.workspace > budget, "\(count) \(order): one more layer fits")
                }
                let limit = gradients.memory(windows: windows, fisher: false, order: order).total
                #expect(
                    gradients.keptLayers(
                        windows: windows, fisher: false, order: order, keepActivations: false, memoryLimit: limit) == 0)
            }
        }
        let few = gradients.keptLayers(
            windows: [ForwardPassTests.tokens(16, vocab: model.config.vocabSize, seed: 1)], fisher: false,
            order: .layers, keepActivations: false)
        #expect(few > 0, "a short window keeps some records")
    }

    @Test("tensors are handed over in tensorOrder(), in either order of work", arguments: WeightGradientOrder.allCases)
    func handOverOrder(order: WeightGradientOrder) throws {
        for (name, model) in try Self.models() {
            let gradients = ModelGradients(model: model)
            var seen: [(String, [Int])] = []
            var lossHeard: Double?
            let loss = try gradients.weights(
                windows: Self.windows(vocab: model.config.vocabSize), order: order,
                onLoss: { lossHeard = $0 },
                consume: { tensor in
                    #expect(lossHeard != nil, "\(name): the loss comes before the first tensor")
                    seen.append((tensor.name, tensor.shape))
                })
            #expect(lossHeard == loss)
            let expected = gradients.tensorOrder()
            #expect(seen.map(\.0) == expected.map(\.name), "\(name)")
            #expect(seen.map(\.1) == expected.map(\.shape), "\(name)")
        }
    }

    @Test("a cancelled request stops with the reason")
    func cancellation() throws {
        let model = try TinyModel.make(seed: 3)
        let cancellation = Cancellation()
        cancellation.cancel(.interrupted)
        #expect(throws: InferenceError(cancelled: .interrupted)) {
            try ModelGradients(model: model, cancellation: cancellation).weights(windows: [[1, 2, 3]]) { _ in }
        }
    }
}
