import Inference
import ModelIO
import TestSupport
import Testing

@Suite struct ForwardPassTests {
    static let shapes: [(String, LlamaConfig)] = [
        ("gqa-untied", TinyModel.config),
        (
            "mha-tied",
            LlamaConfig(
                layerCount: 2, hiddenSize: 32, headCount: 4, kvHeadCount: 4, ffnSize: 40,
                vocabSize: 280, contextLength: 256, ropeTheta: 10000, tiedEmbedding: true)
        ),
        (
            "mqa-wide-heads",
            LlamaConfig(
                layerCount: 1, hiddenSize: 24, headCount: 3, kvHeadCount: 1, headDim: 16,
                ffnSize: 36, vocabSize: 270, contextLength: 256, ropeTheta: 500,
                rmsNormEpsilon: 1e-6)
        ),
        (
            "gqa-3-layers",
            LlamaConfig(
                layerCount: 3, hiddenSize: 48, headCount: 6, kvHeadCount: 2, ffnSize: 64,
                vocabSize: 300, contextLength: 512, ropeTheta: 100000, tiedEmbedding: true)
        ),
    ]

    static func tokens(_ count: Int, vocab: Int, seed: UInt64) -> [Int32] {
        var rng = SplitMix64(seed: seed)
        return (0..<count).map { _ in Int32(rng.next() % UInt64(vocab)) }
    }

    static func expectClose(_ actual: [Float], _ expected: [Double], tolerance: Double, _ what: String) {
        #expect(actual.count == expected.count)
        var worst = 0.0
        for (a, e) in zip(actual, expected) { worst = max(worst, abs(Double(a) - e) / (1 + abs(e))) }
        #expect(worst <= tolerance, "\(what): worst relative difference \(worst)")
    }

    @Test("prefill logits match the Double reference", arguments: 0..<shapes.count)
    func prefillMatchesReference(_ index: Int) throws {
        let (name, config) = Self.shapes[index]
        let model = try TinyModel.make(config, seed: UInt64(index + 7))
        let length = index == 0 ? 150 : 37 // 150 spans two attention blocks of 128
        let tokens = Self.tokens(length, vocab: config.vocabSize, seed: UInt64(index))
        let expected = ReferenceForward.logits(model, tokens)
        let forward = try ForwardPass(model: model, capacity: length)
        let actual = try forward.logits(appending: tokens)
        Self.expectClose(actual, expected.flatMap { $0 }, tolerance: 1e-4, name)
    }

    @Test("single-threaded attention gives the same logits as parallel heads")
    func attentionWorkersAgree() throws {
        let model = try TinyModel.make()
        let tokens = Self.tokens(140, vocab: TinyModel.config.vocabSize, seed: 3)
        let serial = try ForwardPass(model: model, capacity: 140, attentionWorkers: 1).logits(appending: tokens)
        let parallel = try ForwardPass(model: model, capacity: 140, attentionWorkers: 2).logits(appending: tokens)
        Self.expectClose(parallel, serial.map(Double.init), tolerance: 1e-6, "workers")
    }

    @Test("blockwise loss equals the loss of full logits", arguments: 0..<shapes.count)
    func lossMatchesFullLogits(_ index: Int) throws {
        let (name, config) = Self.shapes[index]
        let model = try TinyModel.make(config, seed: UInt64(index + 11))
        let length = index == 0 ? 200 : 45 // 200 spans two loss blocks of 128
        let tokens = Self.tokens(length, vocab: config.vocabSize, seed: UInt64(index + 100))
        let forward = try ForwardPass(model: model, capacity: length)
        let logits = try forward.logits(appending: tokens)
        let rows = (0..<length).map { r in logits[r * config.vocabSize..<(r + 1) * config.vocabSize].map(Double.init) }
        let expected = ReferenceForward.negativeLogLikelihoods(logits: rows, tokens: tokens)
        let actual = try forward.negativeLogLikelihoods(tokens)
        Self.expectClose(actual, expected, tolerance: 1e-5, name)
    }

    @Test(
        "one key/value buffer for all layers scores whole sequences exactly; appending is refused",
        arguments: 0..<shapes.count)
    func sharedCache(_ index: Int) throws {
        let (name, config) = Self.shapes[index]
        let model = try TinyModel.make(config, seed: UInt64(index + 31))
        let kept = try ForwardPass(model: model, capacity: 40, attentionWorkers: 1)
        let shared = try ForwardPass(model: model, capacity: 40, attentionWorkers: 1, keepsCache: false)
        #expect(kept.keepsCache && !shared.keepsCache)
        for seed in 0..<2 {
            let tokens = Self.tokens(40 - 9 * seed, vocab: config.vocabSize, seed: UInt64(index + 300 + seed))
            #expect(try shared.negativeLogLikelihoods(tokens) == kept.negativeLogLikelihoods(tokens), "\(name)")
        }
        shared.reset()
        _ = try shared.logits(appending: Self.tokens(5, vocab: config.vocabSize, seed: 1))
        let error = try #require(throws: InferenceError.self) {
            try shared.lastLogits(appending: Self.tokens(1, vocab: config.vocabSize, seed: 2))
        }
        #expect(error.message.contains("keeps no key/value cache"))
    }

    @Test("cached continuations and one-token steps reproduce the prefill logits", arguments: 0..<shapes.count)
    func cachedStepsMatchPrefill(_ index: Int) throws {
        let (name, config) = Self.shapes[index]
        let model = try TinyModel.make(config, seed: UInt64(index + 21))
        let tokens = Self.tokens(30, vocab: config.vocabSize, seed: UInt64(index + 200))
        let prefill = try ForwardPass(model: model, capacity: 30).logits(appending: tokens)
        let stepper = try ForwardPass(model: model, capacity: 30)
        // A prompt, a multi-row continuation on top of the cache, then single tokens.
        var stepped = try stepper.logits(appending: Array(tokens[0..<12]))
        stepped += try stepper.logits(appending: Array(tokens[12..<20]))
        for token in tokens[20...] { stepped += try stepper.lastLogits(appending: [token]) }
        #expect(stepper.position == 30)
        Self.expectClose(stepped, prefill.map(Double.init), tolerance: 1e-5, name)
    }

    @Test("bad arguments throw clear errors")
    func badArguments() throws {
        let model = try TinyModel.make()
        #expect(throws: InferenceError.self) { try ForwardPass(model: model, capacity: 0) }
        let forward = try ForwardPass(model: model, capacity: 8)
        #expect(throws: InferenceError("token id 300 is outside the vocabulary (0..<300)")) {
            try forward.logits(appending: [1, 300])
        }
        #expect(throws: InferenceError.self) { try forward.logits(appending: []) }
        #expect(throws: InferenceError.self) { try forward.negativeLogLikelihoods([5]) }
        _ = try forward.logits(appending: [1, 2, 3, 4, 5, 6])
        #expect(throws: InferenceError.self) { try forward.logits(appending: [1, 2, 3]) }
        forward.reset()
        #expect(forward.position == 0)
        #expect(try forward.logits(appending: [1, 2, 3]).count == 3 * 300)
    }
}
