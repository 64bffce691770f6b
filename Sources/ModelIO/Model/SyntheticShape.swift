/// The dimensions of a synthetic model (`shears synth`): a named real architecture's, or custom ones.
public enum SyntheticShape: String, Sendable, CaseIterable, CustomStringConvertible {
    case llama2_7b = "llama-2-7b"
    case llama3_8b = "llama-3-8b"
    case qwen25_7b = "qwen2.5-7b"
    case mistral7b = "mistral-7b"
    case smollm2_135m = "smollm2-135m"
    case custom

    /// The name used on the command line.
    public var description: String { rawValue }

    /// The named architecture's configuration (from its `config.json`); nil for `custom`.
    ///
    /// `mistral-7b` is v0.1 (32k vocabulary, 4096-token sliding window). `qwen2.5-7b` is written as
    /// llama.cpp's `qwen2` architecture, with q/k/v biases.
    public var config: LlamaConfig? {
        switch self {
        case .llama2_7b:
            LlamaConfig(
                layerCount: 32, hiddenSize: 4096, headCount: 32, kvHeadCount: 32, ffnSize: 11008, vocabSize: 32000,
                contextLength: 4096, ropeTheta: 10000, rmsNormEpsilon: 1e-5)
        case .llama3_8b:
            LlamaConfig(
                layerCount: 32, hiddenSize: 4096, headCount: 32, kvHeadCount: 8, ffnSize: 14336, vocabSize: 128_256,
                contextLength: 8192, ropeTheta: 500_000, rmsNormEpsilon: 1e-5)
        case .qwen25_7b:
            {
                var config = LlamaConfig(
                    layerCount: 28, hiddenSize: 3584, headCount: 28, kvHeadCount: 4, ffnSize: 18944,
                    vocabSize: 152_064, contextLength: 32768, ropeTheta: 1_000_000, rmsNormEpsilon: 1e-6)
                config.attentionBiases = true
                return config
            }()
        case .mistral7b:
            {
                var config = LlamaConfig(
                    layerCount: 32, hiddenSize: 4096, headCount: 32, kvHeadCount: 8, ffnSize: 14336,
                    vocabSize: 32000, contextLength: 32768, ropeTheta: 10000, rmsNormEpsilon: 1e-5)
                config.slidingWindow = 4096
                return config
            }()
        case .smollm2_135m:
            LlamaConfig(
                layerCount: 30, hiddenSize: 576, headCount: 9, kvHeadCount: 3, ffnSize: 1536, vocabSize: 49152,
                contextLength: 8192, ropeTheta: 100_000, rmsNormEpsilon: 1e-5, tiedEmbedding: true)
        case .custom:
            nil
        }
    }

    /// What the synthetic model leaves out of the real architecture, for a one-line note.
    public var note: String? {
        switch self {
        case .mistral7b: "mistral-7b is v0.1 (32k vocabulary, 4096-token sliding window)"
        default: nil
        }
    }

    /// A custom configuration, checked as `shears synth` needs it: every dimension positive, the
    /// heads dividing the hidden size into an even head dimension, the KV heads dividing the heads,
    /// and a vocabulary of at least 257 tokens (the byte-level tokenizer's 256 bytes and an end token).
    ///
    /// - Throws: `ModelIOError` on `path` naming the option (`layers`, `hidden`, ...) at fault.
    public static func custom(
        layers: Int, hidden: Int, ffn: Int, heads: Int, kvHeads: Int, vocab: Int, context: Int, path: String
    ) throws(ModelIOError) -> LlamaConfig {
        func require(_ ok: Bool, _ option: String, _ message: String) throws(ModelIOError) {
            if !ok { throw ModelIOError(path: path, item: "--\(option)", message) }
        }
        for (option, value) in [("layers", layers), ("hidden", hidden), ("ffn", ffn), ("heads", heads)] {
            try require(value >= 1, option, "must be at least 1, got \(value)")
        }
        try require(kvHeads >= 1, "kv-heads", "must be at least 1, got \(kvHeads)")
        try require(context >= 1, "context", "must be at least 1, got \(context)")
        try require(hidden % heads == 0, "heads", "\(heads) heads do not divide the hidden size \(hidden)")
        try require(
            (hidden / heads) % 2 == 0, "heads",
            "the head dimension \(hidden)/\(heads) = \(hidden / heads) must be even (RoPE rotates pairs)")
        try require(heads % kvHeads == 0, "kv-heads", "\(kvHeads) key/value heads do not divide the \(heads) heads")
        try require(
            vocab >= 257, "vocab", "must be at least 257 (the byte-level tokenizer's 256 bytes and <|endoftext|>)")
        let config = LlamaConfig(
            layerCount: layers, hiddenSize: hidden, headCount: heads, kvHeadCount: kvHeads, ffnSize: ffn,
            vocabSize: vocab, contextLength: context)
        try config.validate(path: path)
        return config
    }
}
