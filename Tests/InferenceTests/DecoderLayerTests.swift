import Foundation
import Inference
import ModelIO
import TestSupport
import Testing

/// The one decoder-layer routine, through each of its drivers, against the Double reference, for
/// uniform and heterogeneous shapes; and surgery against zeroing the removed units.
@Suite struct DecoderLayerTests {
    static func tokens(_ count: Int, vocab: Int, seed: UInt64) -> [Int32] {
        ForwardPassTests.tokens(count, vocab: vocab, seed: seed)
    }

    /// The models every test runs: uniform GQA, and the five-layer one with every kind of layer,
    /// each also with `attn_output`/`ffn_down` biases; uniform GQA with Llama 3.1 RoPE scaling
    /// and a sliding window of 9 positions; and uniform GQA with YaRN.
    static func models() throws -> [(String, Model)] {
        var scaled = TinyModel.config
        scaled.ropeScaling = .llama3(
            factor: 8, lowFrequencyFactor: 1, highFrequencyFactor: 4, originalContextLength: 64)
        scaled.slidingWindow = 9
        var yarn = TinyModel.config
        yarn.ropeScaling = .yarn(
            factor: 4, originalContextLength: 16, betaFast: 32, betaSlow: 1,
            attentionFactor: RopeScaling.yarnAttentionFactor(4))
        return [
            ("scaled RoPE, sliding window", try TinyModel.make(scaled, seed: 6)),
            ("YaRN RoPE", try TinyModel.make(yarn, seed: 7)),
            ("uniform", try TinyModel.make(seed: 3)), ("heterogeneous", try TinyModel.heterogeneous()),
            ("uniform with biases", try TinyModel.make(seed: 3, biases: true)),
            ("heterogeneous with biases", try TinyModel.heterogeneous(biases: true)),
        ]
    }

    /// Logits from hidden states, in Double: final RMSNorm and the output projection.
    static func head(_ model: Model, _ states: [Float], rows: Int) -> [Double] {
        let c = model.config
        let norm = model.tensor(LlamaTensorNames.outputNorm)!.storage.array
        let output = model.outputProjection.storage.array
        var logits: [Double] = []
        for r in 0..<rows {
            let x = states[r * c.hiddenSize..<(r + 1) * c.hiddenSize].map(Double.init)
            let inv = 1 / (x.reduce(0) { $0 + $1 * $1 } / Double(c.hiddenSize) + Double(c.rmsNormEpsilon)).squareRoot()
            let normed = (0..<c.hiddenSize).map { x[$0] * inv * Double(norm[$0]) }
            for v in 0..<c.vocabSize {
                logits.append(
                    (0..<c.hiddenSize).reduce(0.0) { $0 + Double(output[v * c.hiddenSize + $1]) * normed[$1] })
            }
        }
        return logits
    }

    @Test("the engine's per-layer calls, stacked, give the Double reference's logits")
    func stackedLayersMatchReference() throws {
        for (name, model) in try Self.models() {
            let c = model.config
            let tokens = Self.tokens(70, vocab: c.vocabSize, seed: 11)
            let embedding = model.tensor(LlamaTensorNames.tokenEmbedding)!.storage.array
            var states = tokens.flatMap { embedding[Int($0) * c.hiddenSize..<(Int($0) + 1) * c.hiddenSize] }
            let forward = try DecoderLayerForward(model: model, capacity: tokens.count)
            try states.withUnsafeMutableBufferPointer { buffer in
                for layer in 0..<c.layerCount {
                    try forward.run(
                        layer: layer, input: buffer.baseAddress!, rows: tokens.count, output: buffer.baseAddress!)
                }
            }
            let expected = ReferenceForward.logits(model, tokens).flatMap { $0 }
            let actual = Self.head(model, states, rows: tokens.count)
            let worst = zip(actual, expected).map { abs($0 - $1) / (1 + abs($1)) }.max()!
            #expect(worst <= 1e-4, "\(name): worst relative difference \(worst)")
        }
    }

    @Test("the whole-model forward gives the reference's logits, in one call and token by token")
    func forwardPassMatchesReference() throws {
        for (name, model) in try Self.models() {
            let c = model.config
            let tokens = Self.tokens(40, vocab: c.vocabSize, seed: 12)
            let expected = ReferenceForward.logits(model, tokens).flatMap { $0 }
            let forward = try ForwardPass(model: model, capacity: tokens.count)
            ForwardPassTests.expectClose(try forward.logits(appending: tokens), expected, tolerance: 1e-4, name)
            forward.reset()
            var incremental = try forward.logits(appending: Array(tokens.prefix(25)))
            for token in tokens.dropFirst(25) { incremental += try forward.logits(appending: [token]) }
            ForwardPassTests.expectClose(incremental, expected, tolerance: 1e-4, "\(name), cached")
        }
    }

    @Test("the batched generator's logits equal the forward pass's on every layer shape")
    func batchedGeneratorMatchesForward() throws {
        for (name, model) in try Self.models() {
            let vocab = model.config.vocabSize
            let generator = try BatchedGenerator(model: model, batchSize: 3, length: 6)
            var logits: [[Float]] = [[], [], []]
            generator.logitsObserver = { sequence, values in logits[sequence] += Array(values) }
            let greedy = SamplingOptions(temperature: 0)
            let starts: [Int32] = [5, 77, 130]
            let outputs = try generator.generate(sequences: 3) { sequence, _ in
                SegmentStart(token: starts[sequence], sampling: greedy)
            }
            let endOfSequence = model.tokenizer.vocabulary.eosID
            for sequence in 0..<3 {
                // The generator starts a new text (from position 0) after an end-of-sequence token.
                let forward = try ForwardPass(model: model, capacity: 8)
                var expected: [Float] = []
                var next = starts[sequence]
                for produced in outputs[sequence] {
                    expected += try forward.lastLogits(appending: [next])
                    next = produced
                    if produced == endOfSequence {
                        forward.reset()
                        next = starts[sequence]
                    }
                }
                #expect(logits[sequence].count == 6 * vocab)
                ForwardPassTests.expectClose(
                    logits[sequence], expected.map(Double.init), tolerance: 1e-5,
                    "\(name), sequence \(sequence)")
            }
        }
    }

    @Test("observers see each linear input the layer has; the record keeps what a backward pass needs")
    func observerAndRecord() throws {
        let model = try TinyModel.heterogeneous()
        let c = model.config
        let rows = 9
        let input = (0..<rows * c.hiddenSize).map { Float(sin(Double($0) * 0.37)) }
        let forward = try DecoderLayerForward(model: model, capacity: rows)
        for layer in 0..<c.layerCount {
            let shape = c.layers[layer]
            var seen: [LinearInputSite: [Float]] = [:]
            let record = LayerActivationRecord()
            var output = [Float](repeating: 0, count: input.count)
            try forward.run(
                layer: layer, input: input, rows: rows, output: &output,
                observe: { site, values in seen[site] = Array(values) }, record: record)
            var expectedSites: [LinearInputSite] = []
            if shape.hasAttention { expectedSites += [.attentionInput, .attentionContext] }
            if shape.hasFFN { expectedSites += [.ffnInput, .ffnHidden] }
            #expect(Set(seen.keys) == Set(expectedSites), "layer \(layer)")
            #expect(record.values[.input] == input)
            #expect(record.values[.attentionNormed] == seen[.attentionInput])
            #expect(record.values[.attended] == seen[.attentionContext])
            #expect(record.values[.ffnNormed] == seen[.ffnInput])
            #expect(record.values[.ffnHidden] == seen[.ffnHidden])
            #expect(record.values[.queries]?.count == (shape.hasAttention ? rows * c.queryWidth(layer) : nil))
            #expect(record.values[.keys]?.count == (shape.hasAttention ? rows * c.kvWidth(layer) : nil))
            #expect(record.values[.gate]?.count == (shape.hasFFN ? rows * shape.ffnSize : nil))
            // The sub-blocks' sum: the layer's output is the mid residual plus the FFN's output.
            if !shape.hasFFN { #expect(record.values[.midResidual] == output) }
            if !shape.hasAttention { #expect(record.values[.midResidual] == input) }
            // A record-only call (what a backward pass recomputes) records the same values.
            let recordOnly = LayerActivationRecord()
            var scratch = input
            try forward.run(
                layer: layer, input: input, rows: rows, output: &scratch, observe: nil, record: recordOnly,
                recordOnly: true)
            #expect(recordOnly.values == record.values, "layer \(layer): record-only")
        }
    }

    @Test("drivers refuse a model whose shape changed beyond what they were made for")
    func shapeChangeIsRefused() throws {
        let model = try TinyModel.make()
        let forward = try ForwardPass(model: model, capacity: 8)
        let layerForward = try DecoderLayerForward(model: model, capacity: 8)
        try model.remove(.ffnChannels(layer: 0, [1, 2]))
        #expect(throws: InferenceError.self) { try forward.logits(appending: [1, 2]) }
        // Shrinking within layers still fits the layer forward's buffers; fewer layers do not.
        let fitting = [Float](repeating: 0.1, count: 2 * model.config.hiddenSize)
        var fittingOutput = fitting
        try layerForward.run(layer: 0, input: fitting, rows: 2, output: &fittingOutput)
        try model.remove(.blocks([1]))
        let states = [Float](repeating: 0.1, count: 2 * model.config.hiddenSize)
        var output = states
        #expect(throws: InferenceError.self) {
            try layerForward.run(layer: 0, input: states, rows: 2, output: &output)
        }
    }

    @Test("skipping layers in the forward pass gives the logits of removing their blocks")
    func skippedLayersEqualRemovedBlocks() throws {
        var config = TinyModel.config
        config.layers = Array(repeating: config.layers[0], count: 4)
        let shrunk = try TinyModel.make(config, seed: 6, biases: true)
        try shrunk.remove(.blocks([1, 3]))
        let whole = try TinyModel.make(config, seed: 6, biases: true)
        let tokens = Self.tokens(30, vocab: config.vocabSize, seed: 2)
        let skipping = try ForwardPass(model: whole, capacity: 30)
        skipping.skippedLayers = [1, 3]
        let expected = try ForwardPass(model: shrunk, capacity: 30).logits(appending: tokens)
        #expect(try skipping.logits(appending: tokens) == expected)
    }

    /// Each removal next to what zeroing the removed units does in the unshrunk model.
    static let removals: [(StructuralRemoval, zero: [(layer: Int, part: LlamaTensorNames.Layer, columns: [Int])])] = [
        (.queryHeads(layer: 1, [0, 3]), [(1, .attentionOutput, Array(0..<8) + Array(24..<32))]),
        (.kvGroups(layer: 0, [1]), [(0, .attentionOutput, Array(16..<32))]),
        (.ffnChannels(layer: 2, [0, 5, 6, 47]), [(2, .down, [0, 5, 6, 47])]),
        (.attention(layer: 1), [(1, .attentionOutput, Array(0..<32))]),
        (.ffn(layer: 0), [(0, .down, Array(0..<48))]),
        (.blocks([1]), [(1, .attentionOutput, Array(0..<32)), (1, .down, Array(0..<48))]),
        (.queryHeads(layer: 2, [0, 1, 2, 3]), [(2, .attentionOutput, Array(0..<32))]),
    ]

    /// With biases, a removal that takes a whole sub-block takes its bias too (zeroed with every
    /// column); removing some heads or channels keeps it.
    @Test(
        "removing units physically gives the logits of zeroing their outputs",
        arguments: 0..<removals.count, [false, true])
    func surgeryEqualsZeroing(_ index: Int, biases: Bool) throws {
        let (removal, zero) = Self.removals[index]
        var config = TinyModel.config
        config.layers = Array(repeating: config.layers[0], count: 3)
        let shrunk = try TinyModel.make(config, seed: 21, biases: biases)
        let zeroed = try TinyModel.make(config, seed: 21, biases: biases)
        try shrunk.remove(removal)
        for (layer, part, columns) in zero {
            let tensor = zeroed.tensor(part.name(layer: layer))!
            for row in 0..<tensor.rows {
                for column in columns { tensor.storage.buffer[row * tensor.columns + column] = 0 }
            }
            if columns.count == tensor.columns, let bias = zeroed.tensor(part.name(layer: layer, kind: .bias)) {
                for i in 0..<bias.count { bias.storage.buffer[i] = 0 }
            }
        }
        if biases {
            let kept = shrunk.tensorNames.filter { LlamaTensorNames.parse($0)?.kind == .bias }
            #expect(!kept.isEmpty && kept.allSatisfy { shrunk.tensor($0)!.shape == [config.hiddenSize] })
        }
        #expect(shrunk.parameterCount < zeroed.parameterCount)
        let tokens = Self.tokens(50, vocab: config.vocabSize, seed: 5)
        let expected = try ForwardPass(model: zeroed, capacity: 50).logits(appending: tokens)
        let actual = try ForwardPass(model: shrunk, capacity: 50).logits(appending: tokens)
        ForwardPassTests.expectClose(actual, expected.map(Double.init), tolerance: 1e-5, "\(removal)")
        let nll = try ForwardPass(model: shrunk, capacity: 50).negativeLogLikelihoods(tokens)
        let zeroedNLL = try ForwardPass(model: zeroed, capacity: 50).negativeLogLikelihoods(tokens)
        ForwardPassTests.expectClose(nll, zeroedNLL.map(Double.init), tolerance: 1e-5, "\(removal) loss")
    }
}
