/// The shape of one decoder layer: its query heads, key/value heads and FFN width.
///
/// The head dimension and the hidden size are the model's; everything a structured prune can
/// shrink is per layer. A layer with no query heads has no attention (no `attn_*` tensors); a
/// layer with an FFN width of 0 has no FFN (no `ffn_*` tensors).
public struct LayerShape: Sendable, Hashable, Encodable {
    /// Number of query heads (0: the layer has no attention).
    public var headCount: Int
    /// Number of key/value heads; query heads split evenly over them in contiguous groups.
    public var kvHeadCount: Int
    /// Width of the SwiGLU MLP's inner layer (0: the layer has no FFN).
    public var ffnSize: Int

    /// Creates a layer shape; `LlamaConfig.validate(path:)` checks it.
    public init(headCount: Int, kvHeadCount: Int, ffnSize: Int) {
        self.headCount = headCount
        self.kvHeadCount = kvHeadCount
        self.ffnSize = ffnSize
    }

    /// Whether the layer has an attention sub-block.
    public var hasAttention: Bool { headCount > 0 }
    /// Whether the layer has an FFN sub-block.
    public var hasFFN: Bool { ffnSize > 0 }
    /// Query heads per key/value head (0 without attention).
    public var groupSize: Int { kvHeadCount > 0 ? headCount / kvHeadCount : 0 }
}

/// The hyper-parameters of a LLaMA-family decoder (LLaMA 1-3, Mistral, TinyLlama, SmolLM2,
/// Qwen2/2.5 with q/k/v biases, Qwen3 with q/k norms), possibly with layers of different shapes
/// after structured pruning.
///
/// Grouped-query attention, rotary position embeddings, RMSNorm and a SwiGLU MLP; the output
/// projection may be tied to the token embedding.
public struct LlamaConfig: Sendable, Equatable, Encodable {
    /// Every decoder layer's shape, in order.
    public var layers: [LayerShape]
    /// Width of the residual stream.
    public var hiddenSize: Int
    /// Width of one attention head (the same in every layer).
    public var headDim: Int
    /// Vocabulary size (rows of the token embedding).
    public var vocabSize: Int
    /// Longest context the model was trained for.
    public var contextLength: Int
    /// RoPE base frequency.
    public var ropeTheta: Float
    /// RoPE frequency scaling (Llama 3.1, linear interpolation), `none` for plain RoPE.
    public var ropeScaling: RopeScaling = .none
    /// Sliding-window attention (Mistral): a query sees only the `slidingWindow` most recent
    /// positions, itself included; nil for full causal attention.
    public var slidingWindow: Int?
    /// Whether every attention has biases on q, k and v (Qwen2, Qwen2.5), added to the
    /// projections before RoPE.
    public var attentionBiases = false
    /// Whether every attention normalises each query and key head by an RMSNorm of its own
    /// weight (`headDim` values) before RoPE (Qwen3).
    public var queryKeyNorm = false
    /// RMSNorm epsilon.
    public var rmsNormEpsilon: Float
    /// Whether the output projection reuses the token embedding.
    public var tiedEmbedding: Bool

    /// Creates a configuration whose layers all have one shape; `headDim` defaults to
    /// `hiddenSize / headCount`. `validate(path:)` checks it.
    public init(
        layerCount: Int, hiddenSize: Int, headCount: Int, kvHeadCount: Int, headDim: Int? = nil,
        ffnSize: Int, vocabSize: Int, contextLength: Int = 2048, ropeTheta: Float = 10000,
        rmsNormEpsilon: Float = 1e-5, tiedEmbedding: Bool = false, ropeScaling: RopeScaling = .none
    ) {
        let shape = LayerShape(headCount: headCount, kvHeadCount: kvHeadCount, ffnSize: ffnSize)
        self.init(
            layers: Array(repeating: shape, count: max(0, layerCount)), hiddenSize: hiddenSize,
            headDim: headDim ?? (headCount > 0 ? hiddenSize / headCount : 0), vocabSize: vocabSize,
            contextLength: contextLength, ropeTheta: ropeTheta, rmsNormEpsilon: rmsNormEpsilon,
            tiedEmbedding: tiedEmbedding, ropeScaling: ropeScaling)
    }

    /// Creates a configuration with a shape per layer. `validate(path:)` checks it.
    public init(
        layers: [LayerShape], hiddenSize: Int, headDim: Int, vocabSize: Int, contextLength: Int = 2048,
        ropeTheta: Float = 10000, rmsNormEpsilon: Float = 1e-5, tiedEmbedding: Bool = false,
        ropeScaling: RopeScaling = .none
    ) {
        self.layers = layers
        self.hiddenSize = hiddenSize
        self.headDim = headDim
        self.vocabSize = vocabSize
        self.contextLength = contextLength
        self.ropeTheta = ropeTheta
        self.rmsNormEpsilon = rmsNormEpsilon
        self.tiedEmbedding = tiedEmbedding
        self.ropeScaling = ropeScaling
    }

    /// Number of decoder layers.
    public var layerCount: Int { layers.count }
    /// The shape every layer shares, or nil when layers differ.
    public var uniformShape: LayerShape? {
        guard let first = layers.first, layers.allSatisfy({ $0 == first }) else { return nil }
        return first
    }
    /// Width of all query heads of `layer` together.
    public func queryWidth(_ layer: Int) -> Int { layers[layer].headCount * headDim }
    /// Width of all key (or value) heads of `layer` together.
    public func kvWidth(_ layer: Int) -> Int { layers[layer].kvHeadCount * headDim }
    /// The widest query projection over all layers.
    public var maxQueryWidth: Int { (layers.map(\.headCount).max() ?? 0) * headDim }
    /// The widest key/value projection over all layers.
    public var maxKVWidth: Int { (layers.map(\.kvHeadCount).max() ?? 0) * headDim }
    /// The widest FFN over all layers.
    public var maxFFNSize: Int { layers.map(\.ffnSize).max() ?? 0 }
    /// The largest number of query heads sharing one key/value head, over all layers.
    public var maxGroupSize: Int { layers.map(\.groupSize).max() ?? 0 }

    /// Checks that the numbers describe a model we can run.
    ///
    /// - Throws: `ModelIOError` naming `path` and the offending field (with the layer for a
    ///   per-layer field).
    public func validate(path: String) throws(ModelIOError) {
        func require(_ ok: Bool, _ field: String, _ message: String) throws(ModelIOError) {
            if !ok { throw ModelIOError(path: path, item: field, message) }
        }
        let limit = 1 << 24
        try require((1...4096).contains(layerCount), "layers", "layer count \(layerCount) is not in 1...4096")
        try require((1...limit).contains(hiddenSize), "hidden", "hidden size \(hiddenSize) is out of range")
        try require((1...limit).contains(vocabSize), "vocab", "vocabulary size \(vocabSize) is out of range")
        try require(
            headDim >= 2 && headDim % 2 == 0 && headDim <= 4096, "head_dim",
            "head dimension \(headDim) must be even (RoPE rotates pairs)")
        // A uniform configuration (config.json, llama GGUF scalars) names the field alone.
        let uniform = uniformShape != nil
        for (index, layer) in layers.enumerated() {
            func field(_ name: String) -> String { uniform ? name : "\(name)[\(index)]" }
            try require(
                (0...limit).contains(layer.ffnSize), field("ffn"),
                "FFN size \(layer.ffnSize) of layer \(index) is out of range")
            try require(
                (0...4096).contains(layer.headCount), field("heads"),
                "head count \(layer.headCount) of layer \(index) is out of range")
            if layer.headCount == 0 {
                try require(
                    layer.kvHeadCount == 0, field("kv_heads"),
                    "layer \(index) has no query heads but \(layer.kvHeadCount) key/value heads")
            } else {
                try require(
                    layer.kvHeadCount >= 1 && layer.headCount % layer.kvHeadCount == 0, field("kv_heads"),
                    "key/value head count \(layer.kvHeadCount) of layer \(index) does not divide its head count "
                        + "\(layer.headCount)")
            }
        }
        if let slidingWindow {
            try require(slidingWindow >= 1, "sliding_window", "sliding window \(slidingWindow) must be positive")
        }
        try ropeScaling.validate(frequencies: headDim / 2, path: path, item: "rope_scaling")
        try require(contextLength >= 1, "context_length", "context length \(contextLength) must be positive")
        try require(ropeTheta.isFinite && ropeTheta > 0, "rope_theta", "RoPE base \(ropeTheta) must be positive")
        try require(
            rmsNormEpsilon.isFinite && rmsNormEpsilon >= 0, "rms_norm_eps",
            "RMSNorm epsilon \(rmsNormEpsilon) must be a non-negative number")
    }

    private enum CodingKeys: String, CodingKey {
        case layerCount, hiddenSize, headDim, vocabSize, contextLength, ropeTheta, rmsNormEpsilon, tiedEmbedding
        case headCount, kvHeadCount, ffnSize, layers, ropeScaling, slidingWindow, attentionBiases, queryKeyNorm
    }

    /// Encodes the model-wide fields, the shared head counts and FFN width when every layer has
    /// them (as before per-layer shapes existed), and the per-layer shapes.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(layerCount, forKey: .layerCount)
        try container.encode(hiddenSize, forKey: .hiddenSize)
        try container.encode(headDim, forKey: .headDim)
        try container.encode(vocabSize, forKey: .vocabSize)
        try container.encode(contextLength, forKey: .contextLength)
        try container.encode(ropeTheta, forKey: .ropeTheta)
        try container.encode(rmsNormEpsilon, forKey: .rmsNormEpsilon)
        try container.encode(tiedEmbedding, forKey: .tiedEmbedding)
        if let shape = uniformShape {
            try container.encode(shape.headCount, forKey: .headCount)
            try container.encode(shape.kvHeadCount, forKey: .kvHeadCount)
            try container.encode(shape.ffnSize, forKey: .ffnSize)
        }
        try container.encode(layers, forKey: .layers)
        if ropeScaling != .none { try container.encode(ropeScaling.summary, forKey: .ropeScaling) }
        try container.encodeIfPresent(slidingWindow, forKey: .slidingWindow)
        if attentionBiases { try container.encode(true, forKey: .attentionBiases) }
        if queryKeyNorm { try container.encode(true, forKey: .queryKeyNorm) }
    }
}
