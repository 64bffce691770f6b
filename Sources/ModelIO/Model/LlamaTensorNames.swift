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

        /// Whether the part may carry a bias (`ArchitectureDescriptor.LayerTensor.all` has it):
        /// q/k/v (Qwen2's attention biases) and the two matrices writing into the residual stream.
        public var takesBias: Bool { ArchitectureDescriptor.LayerTensor.of(self, .bias) != nil }

        /// Whether the part may carry an optional `[hidden]` bias on the residual stream
        /// (`attn_output`, `ffn_down`), which llama.cpp's graphs apply.
        public var takesOutputBias: Bool {
            ArchitectureDescriptor.LayerTensor.of(self, .bias)?.feature == .outputBiases
        }

        /// Whether the part may carry a per-head RMSNorm after its projection (Qwen3's q and k norms).
        public var takesHeadNorm: Bool { ArchitectureDescriptor.LayerTensor.of(self, .headNorm) != nil }

        /// Whether this is one of the seven linear (prunable) matrices.
        public var isLinear: Bool { self != .attentionNorm && self != .ffnNorm }

        /// Whether this tensor belongs to the attention sub-block (absent in a layer without it).
        public var isAttention: Bool {
            switch self {
            case .attentionNorm, .query, .key, .value, .attentionOutput: true
            case .ffnNorm, .gate, .up, .down: false
            }
        }

        /// Row-major shape of this part's `kind` tensor in layer `layer` of `config`, from its
        /// axes in `ArchitectureDescriptor.LayerTensor.all`.
        ///
        /// - Precondition: the part has a `kind` tensor (`takesBias`, `takesHeadNorm`).
        public func shape(_ config: LlamaConfig, layer: Int, kind: Kind) -> [Int] {
            guard let tensor = ArchitectureDescriptor.LayerTensor.of(self, kind) else {
                preconditionFailure("\(rawValue) has no \(kind) tensor")
            }
            return tensor.shape(config, layer: layer)
        }

        /// Row-major shape of this weight in layer `layer` of `config`.
        public func shape(_ config: LlamaConfig, layer: Int) -> [Int] { shape(config, layer: layer, kind: .weight) }

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
        ArchitectureDescriptor.LayerTensor.all.filter { tensor in
            guard tensor.part == part else { return false }
            switch tensor.feature {
            case nil: return true
            case .attentionBiases?: return config.attentionBiases
            case .queryKeyNorm?: return config.queryKeyNorm
            case .outputBiases?: return false
            }
        }.map(\.kind)
    }

    /// Every tensor name the model must have, with its shape, in a stable order: the token
    /// embedding, each layer's tensors, the final norm and (untied) the output projection.
    public static func expected(_ config: LlamaConfig) -> [(name: String, shape: [Int])] {
        let global = ArchitectureDescriptor.GlobalTensor.all.filter { !$0.untiedOnly || !config.tiedEmbedding }
            .map { (name: $0.gguf, shape: $0.axes.map { $0.size(config, layer: 0) }) }
        var result = [global[0]]
        for (layer, shape) in config.layers.enumerated() {
            for part in Layer.allCases where part.exists(in: shape) {
                for kind in requiredKinds(of: part, config) {
                    result.append((part.name(layer: layer, kind: kind), part.shape(config, layer: layer, kind: kind)))
                }
            }
        }
        return result + global.dropFirst()
    }
}
