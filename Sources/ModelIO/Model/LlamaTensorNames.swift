/// Canonical tensor names (GGUF convention) of a LLaMA-family decoder and their shapes.
public enum LlamaTensorNames {
    /// Token embedding, `[vocab, hidden]`.
    public static let tokenEmbedding = "token_embd.weight"
    /// Final RMSNorm weight, `[hidden]`.
    public static let outputNorm = "output_norm.weight"
    /// Output projection, `[vocab, hidden]`; absent when tied to the token embedding.
    public static let output = "output.weight"
    /// RoPE frequency divisors, `[headDim / 2]` (llama.cpp's form of Llama 3.1 scaling); read into
    /// `LlamaConfig.ropeScaling` and written from it, never a tensor of `Model`.
    public static let ropeFrequencies = "rope_freqs.weight"

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

        /// The full name of this part's weight, bias or head norm in layer `layer`, e.g.
        /// `blk.3.ffn_down.bias` or `blk.3.attn_q_norm.weight`.
        public func name(layer: Int, kind: Kind) -> String {
            kind == .headNorm ? "blk.\(layer).\(rawValue)_norm.weight" : "blk.\(layer).\(rawValue).\(kind.rawValue)"
        }

        /// Whether the part may carry a bias added to its output: the two matrices that write
        /// into the residual stream (`attn_output`, `ffn_down`, optional; structured pruning's
        /// compensation (FLAP) lands there), and q/k/v (Qwen2's attention biases, present in
        /// every layer when `LlamaConfig.attentionBiases` is set).
        public var takesBias: Bool { takesOutputBias || self == .query || self == .key || self == .value }

        /// Whether the part may carry an optional `[hidden]` bias on the residual stream
        /// (`attn_output`, `ffn_down`), which llama.cpp's `llama` and `deci` graphs apply.
        public var takesOutputBias: Bool { self == .attentionOutput || self == .down }

        /// Whether the part may carry a per-head RMSNorm after its projection (Qwen3's q and k
        /// norms, present in every layer when `LlamaConfig.queryKeyNorm` is set).
        public var takesHeadNorm: Bool { self == .query || self == .key }

        /// Whether this is one of the seven linear (prunable) matrices.
        public var isLinear: Bool { self != .attentionNorm && self != .ffnNorm }

        /// Whether this tensor belongs to the attention sub-block (absent in a layer without it).
        public var isAttention: Bool {
            switch self {
            case .attentionNorm, .query, .key, .value, .attentionOutput: true
            case .ffnNorm, .gate, .up, .down: false
            }
        }

        /// Row-major shape of this part's `kind` tensor in layer `layer` of `config`: a bias has
        /// one entry per output row, a head norm one per head dimension.
        public func shape(_ config: LlamaConfig, layer: Int, kind: Kind) -> [Int] {
            switch kind {
            case .weight: shape(config, layer: layer)
            case .bias: [shape(config, layer: layer)[0]]
            case .headNorm: [config.headDim]
            }
        }

        /// Row-major shape of this tensor in layer `layer` of `config`.
        public func shape(_ config: LlamaConfig, layer: Int) -> [Int] {
            let hidden = config.hiddenSize, ffn = config.layers[layer].ffnSize
            switch self {
            case .attentionNorm, .ffnNorm: return [hidden]
            case .query: return [config.queryWidth(layer), hidden]
            case .key, .value: return [config.kvWidth(layer), hidden]
            case .attentionOutput: return [hidden, config.queryWidth(layer)]
            case .gate, .up: return [ffn, hidden]
            case .down: return [hidden, ffn]
            }
        }

        /// Whether layer `shape` has this tensor (attention tensors need heads, FFN tensors a width).
        public func exists(in shape: LayerShape) -> Bool { isAttention ? shape.hasAttention : shape.hasFFN }
    }

    /// What a per-layer tensor holds.
    public enum Kind: String, Sendable {
        /// The part's weight (a norm vector or a matrix).
        case weight
        /// The bias of a part that `takesBias`.
        case bias
        /// The per-head RMSNorm weight of a part that `takesHeadNorm` (`attn_q_norm.weight`).
        case headNorm
    }

    /// The layer, part and kind of a per-layer tensor name such as `blk.3.attn_q.weight`,
    /// `blk.3.ffn_down.bias` or `blk.3.attn_k_norm.weight`; nil for any other name (including
    /// biases and head norms no part takes).
    public static func parse(_ name: String) -> (layer: Int, part: Layer, kind: Kind)? {
        let fields = name.split(separator: ".", omittingEmptySubsequences: false)
        guard fields.count == 4, fields[0] == "blk", var kind = Kind(rawValue: String(fields[3])),
            let layer = Int(fields[1]), layer >= 0
        else { return nil }
        var partName = fields[2]
        if kind == .weight, partName.hasSuffix("_norm"), let part = Layer(rawValue: String(partName.dropLast(5))),
            part.takesHeadNorm
        {
            (partName, kind) = (partName.dropLast(5), .headNorm)
        }
        guard let part = Layer(rawValue: String(partName)),
            kind != .bias || part.takesBias, part.name(layer: layer, kind: kind) == name
        else { return nil }
        return (layer, part, kind)
    }

    /// The kinds of tensor `part` has in every layer with its sub-block under `config`: its
    /// weight, then the q/k/v biases (`attentionBiases`) and q/k head norms (`queryKeyNorm`), in
    /// the order llama.cpp's converters write them.
    public static func requiredKinds(of part: Layer, _ config: LlamaConfig) -> [Kind] {
        var kinds: [Kind] = [.weight]
        if config.attentionBiases, part.takesBias, !part.takesOutputBias { kinds.append(.bias) }
        if config.queryKeyNorm, part.takesHeadNorm { kinds.append(.headNorm) }
        return kinds
    }

    /// Every tensor name the model must have, with its shape, in a stable order.
    public static func expected(_ config: LlamaConfig) -> [(name: String, shape: [Int])] {
        var result: [(String, [Int])] = [(tokenEmbedding, [config.vocabSize, config.hiddenSize])]
        for (layer, shape) in config.layers.enumerated() {
            for part in Layer.allCases where part.exists(in: shape) {
                for kind in requiredKinds(of: part, config) {
                    result.append((part.name(layer: layer, kind: kind), part.shape(config, layer: layer, kind: kind)))
                }
            }
        }
        result.append((outputNorm, [config.hiddenSize]))
        if !config.tiedEmbedding { result.append((output, [config.vocabSize, config.hiddenSize])) }
        return result
    }
}
