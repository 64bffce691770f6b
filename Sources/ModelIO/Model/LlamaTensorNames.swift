/// Canonical tensor names (GGUF convention) of a LLaMA-family decoder and their shapes.
public enum LlamaTensorNames {
    /// Token embedding, `[vocab, hidden]`.
    public static let tokenEmbedding = "token_embd.weight"
    /// Final RMSNorm weight, `[hidden]`.
    public static let outputNorm = "output_norm.weight"
    /// Output projection, `[vocab, hidden]`; absent when tied to the token embedding.
    public static let output = "output.weight"

    /// The per-layer tensors, in the order a layer uses them.
    public enum Layer: String, CaseIterable, Sendable {
        case attentionNorm = "attn_norm"
        case query = "attn_q"
        case key = "attn_k"
        case value = "attn_v"
        case attentionOutput = "attn_output"
        case ffnNorm = "ffn_norm"
        case gate = "ffn_gate"
        case up = "ffn_up"
        case down = "ffn_down"

        /// The full name of this tensor in layer `layer`, e.g. `blk.3.attn_q.weight`.
        public func name(layer: Int) -> String { "blk.\(layer).\(rawValue).weight" }

        /// Whether this is one of the seven linear (prunable) matrices.
        public var isLinear: Bool { self != .attentionNorm && self != .ffnNorm }

        /// Row-major shape of this tensor under `config`.
        public func shape(_ config: LlamaConfig) -> [Int] {
            switch self {
            case .attentionNorm, .ffnNorm: [config.hiddenSize]
            case .query: [config.queryWidth, config.hiddenSize]
            case .key, .value: [config.kvWidth, config.hiddenSize]
            case .attentionOutput: [config.hiddenSize, config.queryWidth]
            case .gate, .up: [config.ffnSize, config.hiddenSize]
            case .down: [config.hiddenSize, config.ffnSize]
            }
        }
    }

    /// Every tensor name the model must have, with its shape, in a stable order.
    public static func expected(_ config: LlamaConfig) -> [(name: String, shape: [Int])] {
        var result: [(String, [Int])] = [(tokenEmbedding, [config.vocabSize, config.hiddenSize])]
        for layer in 0..<config.layerCount {
            for part in Layer.allCases { result.append((part.name(layer: layer), part.shape(config))) }
        }
        result.append((outputNorm, [config.hiddenSize]))
        if !config.tiedEmbedding { result.append((output, [config.vocabSize, config.hiddenSize])) }
        return result
    }
}
