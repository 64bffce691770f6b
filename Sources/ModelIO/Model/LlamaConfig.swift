/// The hyper-parameters of a LLaMA-family decoder (LLaMA 1-3, Mistral, TinyLlama, SmolLM2).
///
/// Grouped-query attention, rotary position embeddings, RMSNorm and a SwiGLU MLP; the output
/// projection may be tied to the token embedding.
public struct LlamaConfig: Sendable, Equatable, Codable {
    /// Number of decoder layers.
    public var layerCount: Int
    /// Width of the residual stream.
    public var hiddenSize: Int
    /// Number of query heads.
    public var headCount: Int
    /// Number of key/value heads (equal to `headCount` without GQA).
    public var kvHeadCount: Int
    /// Width of one attention head.
    public var headDim: Int
    /// Width of the SwiGLU MLP's inner layer.
    public var ffnSize: Int
    /// Vocabulary size (rows of the token embedding).
    public var vocabSize: Int
    /// Longest context the model was trained for.
    public var contextLength: Int
    /// RoPE base frequency.
    public var ropeTheta: Float
    /// RMSNorm epsilon.
    public var rmsNormEpsilon: Float
    /// Whether the output projection reuses the token embedding.
    public var tiedEmbedding: Bool

    /// Creates a configuration; `validate(path:)` checks it.
    public init(
        layerCount: Int, hiddenSize: Int, headCount: Int, kvHeadCount: Int, headDim: Int? = nil,
        ffnSize: Int, vocabSize: Int, contextLength: Int = 2048, ropeTheta: Float = 10000,
        rmsNormEpsilon: Float = 1e-5, tiedEmbedding: Bool = false
    ) {
        self.layerCount = layerCount
        self.hiddenSize = hiddenSize
        self.headCount = headCount
        self.kvHeadCount = kvHeadCount
        self.headDim = headDim ?? (headCount > 0 ? hiddenSize / headCount : 0)
        self.ffnSize = ffnSize
        self.vocabSize = vocabSize
        self.contextLength = contextLength
        self.ropeTheta = ropeTheta
        self.rmsNormEpsilon = rmsNormEpsilon
        self.tiedEmbedding = tiedEmbedding
    }

    /// Width of all query heads together.
    public var queryWidth: Int { headCount * headDim }
    /// Width of all key (or value) heads together.
    public var kvWidth: Int { kvHeadCount * headDim }

    /// Checks that the numbers describe a model we can run.
    ///
    /// - Throws: `ModelIOError` naming `path` and the offending field.
    public func validate(path: String) throws(ModelIOError) {
        func require(_ ok: Bool, _ field: String, _ message: String) throws(ModelIOError) {
            if !ok { throw ModelIOError(path: path, item: field, message) }
        }
        let limit = 1 << 24
        try require((1...4096).contains(layerCount), "layers", "layer count \(layerCount) is not in 1...4096")
        try require((1...limit).contains(hiddenSize), "hidden", "hidden size \(hiddenSize) is out of range")
        try require((1...limit).contains(ffnSize), "ffn", "FFN size \(ffnSize) is out of range")
        try require((1...limit).contains(vocabSize), "vocab", "vocabulary size \(vocabSize) is out of range")
        try require((1...4096).contains(headCount), "heads", "head count \(headCount) is out of range")
        try require(kvHeadCount >= 1 && headCount % kvHeadCount == 0, "kv_heads",
                    "key/value head count \(kvHeadCount) does not divide the head count \(headCount)")
        try require(headDim >= 2 && headDim % 2 == 0 && headDim <= 4096, "head_dim",
                    "head dimension \(headDim) must be even (RoPE rotates pairs)")
        try require(contextLength >= 1, "context_length", "context length \(contextLength) must be positive")
        try require(ropeTheta.isFinite && ropeTheta > 0, "rope_theta", "RoPE base \(ropeTheta) must be positive")
        try require(rmsNormEpsilon.isFinite && rmsNormEpsilon >= 0, "rms_norm_eps",
                    "RMSNorm epsilon \(rmsNormEpsilon) must be a non-negative number")
    }
}
