import ModelIO
import SeededRandom
import Tokenization

/// Small random LLaMA models for fast tests: any shape, deterministic for a seed.
public enum TinyModel {
    /// A small configuration with GQA (4 query heads, 2 KV heads) and untied output.
    public static let config = LlamaConfig(
        layerCount: 2, hiddenSize: 32, headCount: 4, kvHeadCount: 2, ffnSize: 48, vocabSize: 300,
        contextLength: 256, ropeTheta: 10000, rmsNormEpsilon: 1e-5, tiedEmbedding: false
    )

    /// A byte-level vocabulary: the 256 byte tokens, a few merges, `<|endoftext|>` last
    /// (`BPEVocabulary.byteLevel(size:)`, which synthetic models use too).
    public static func vocabulary(size: Int) -> BPEVocabulary { .byteLevel(size: size) }

    /// GGUF metadata for `config` and `vocabulary`, as llama.cpp would write it (`deci` when the
    /// layers differ).
    public static func metadata(_ config: LlamaConfig, _ vocabulary: BPEVocabulary) -> GGUFMetadata {
        let base = HuggingFaceMetadata.gguf(
            config: config, vocabulary: vocabulary, name: "tiny-test-model", chatTemplate: nil)
        return config.uniformShape == nil ? GGUFArchitectureKeys.apply(config, to: base) : base
    }

    /// A five-layer model with a layer of every kind, made by surgery on a uniform one (hidden 32,
    /// 4 query heads over 2 KV heads, FFN 48; with `biases`, random `attn_output`/`ffn_down`
    /// biases where the sub-block is kept): layer 0 keeps one query head per KV group, layer 1
    /// one KV group, layer 2 has no attention, layer 3 a narrower FFN, layer 4 no FFN.
    public static func heterogeneous(seed: UInt64 = 5, biases: Bool = false) throws -> Model {
        var uniform = config
        uniform.layers = Array(repeating: config.layers[0], count: 5)
        let model = try make(uniform, seed: seed, biases: biases)
        for removal in heterogeneousRemovals { try model.remove(removal) }
        return model
    }

    /// The surgery `heterogeneous(seed:)` applies.
    public static let heterogeneousRemovals: [StructuralRemoval] = [
        .queryHeads(layer: 0, [1, 3]), .kvGroups(layer: 1, [0]), .attention(layer: 2),
        .ffnChannels(layer: 3, Array(stride(from: 0, to: 48, by: 3))), .ffn(layer: 4),
    ]

    /// Random tensors for `config`: linear weights uniform in ±1/sqrt(fan-in), norms near 1.
    public static func tensors(_ config: LlamaConfig, seed: UInt64) -> [Tensor] {
        var rng = SplitMix64(seed: seed)
        return LlamaTensorNames.expected(config).map { name, shape in
            let count = shape.reduce(1, *)
            let isNorm = shape.count == 1
            let scale = isNorm ? 0.2 : 1 / Float(shape.last!).squareRoot()
            let storage = TensorStorage(count: count) { buffer in
                for i in 0..<count {
                    let u = rng.nextUnitFloat() * 2 - 1
                    buffer[i] = isNorm ? 1 + scale * u : scale * u
                }
            }
            return Tensor(name: name, shape: shape, storage: storage)
        }
    }

    /// Random `attn_output` and `ffn_down` biases (uniform in ±0.1) for every layer of `config`
    /// that has the sub-block.
    public static func biases(_ config: LlamaConfig, seed: UInt64) -> [Tensor] {
        var rng = SplitMix64(seed: seed ^ 0xB1A5)
        return config.layers.enumerated().flatMap { layer, shape in
            [LlamaTensorNames.Layer.attentionOutput, .down].filter { $0.exists(in: shape) }.map { part in
                let storage = TensorStorage(count: config.hiddenSize) { buffer in
                    for i in 0..<config.hiddenSize { buffer[i] = 0.1 * (rng.nextUnitFloat() * 2 - 1) }
                }
                return Tensor(name: part.name(layer: layer, kind: .bias), shape: [config.hiddenSize], storage: storage)
            }
        }
    }

    /// A complete random model, with `attn_output`/`ffn_down` biases when `biases`.
    public static func make(_ config: LlamaConfig = config, seed: UInt64 = 1, biases: Bool = false) throws -> Model {
        let vocabulary = vocabulary(size: config.vocabSize)
        let extra = biases ? Self.biases(config, seed: seed) : []
        return try Model(
            config: config, tensors: tensors(config, seed: seed) + extra, metadata: metadata(config, vocabulary),
            tokenizer: try Tokenizer(vocabulary: vocabulary), sourcePath: "<tiny model seed \(seed)>"
        )
    }
}
