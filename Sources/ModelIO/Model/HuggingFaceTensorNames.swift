/// The mapping between Hugging Face LLaMA-family tensor names (`model.layers.3.self_attn.q_proj.weight`,
/// Qwen's `q_proj.bias` and `q_norm.weight`) and the GGUF names `Model` uses (`blk.3.attn_q.weight`).
public enum HuggingFaceTensorNames {
    /// Hugging Face name of the token embedding.
    public static let tokenEmbedding = "model.embed_tokens.weight"
    /// Hugging Face name of the final norm.
    public static let outputNorm = "model.norm.weight"
    /// Hugging Face name of the output projection (absent when tied).
    public static let output = "lm_head.weight"

    /// The part of a layer tensor's Hugging Face name after `model.layers.N.`.
    public static func layerSuffix(_ part: LlamaTensorNames.Layer) -> String {
        switch part {
        case .attentionNorm: "input_layernorm.weight"
        case .query: "self_attn.q_proj.weight"
        case .key: "self_attn.k_proj.weight"
        case .value: "self_attn.v_proj.weight"
        case .attentionOutput: "self_attn.o_proj.weight"
        case .ffnNorm: "post_attention_layernorm.weight"
        case .gate: "mlp.gate_proj.weight"
        case .up: "mlp.up_proj.weight"
        case .down: "mlp.down_proj.weight"
        }
    }

    /// The part of a layer tensor's Hugging Face name after `model.layers.N.` for `part`'s
    /// `kind` tensor: `self_attn.q_proj.bias` (Qwen2), `self_attn.q_norm.weight` (Qwen3).
    public static func layerSuffix(_ part: LlamaTensorNames.Layer, kind: LlamaTensorNames.Kind) -> String {
        let weight = layerSuffix(part)
        switch kind {
        case .weight: return weight
        case .bias: return weight.dropLast("weight".count) + "bias"
        case .headNorm: return part == .query ? "self_attn.q_norm.weight" : "self_attn.k_norm.weight"
        }
    }

    private static let kindsBySuffix: [String: (LlamaTensorNames.Layer, LlamaTensorNames.Kind)] = {
        var result: [String: (LlamaTensorNames.Layer, LlamaTensorNames.Kind)] = [:]
        for part in LlamaTensorNames.Layer.allCases {
            result[layerSuffix(part)] = (part, .weight)
            if part.takesBias { result[layerSuffix(part, kind: .bias)] = (part, .bias) }
            if part.takesHeadNorm { result[layerSuffix(part, kind: .headNorm)] = (part, .headNorm) }
        }
        return result
    }()

    /// The GGUF name of the Hugging Face tensor `name`, or nil if it is not a LLaMA weight.
    public static func ggufName(huggingFace name: String) -> String? {
        switch name {
        case tokenEmbedding: return LlamaTensorNames.tokenEmbedding
        case outputNorm: return LlamaTensorNames.outputNorm
        case output: return LlamaTensorNames.output
        default: break
        }
        guard let (layer, rest) = splitLayer(name, prefix: "model.layers."), let (part, kind) = kindsBySuffix[rest]
        else { return nil }
        return part.name(layer: layer, kind: kind)
    }

    /// The Hugging Face name of the GGUF tensor `name`, or nil if it is not a LLaMA weight.
    public static func huggingFaceName(gguf name: String) -> String? {
        switch name {
        case LlamaTensorNames.tokenEmbedding: return tokenEmbedding
        case LlamaTensorNames.outputNorm: return outputNorm
        case LlamaTensorNames.output: return output
        default: break
        }
        guard let (layer, part, kind) = LlamaTensorNames.parse(name) else { return nil }
        return "model.layers.\(layer).\(layerSuffix(part, kind: kind))"
    }

    /// Whether `name` is a non-weight buffer some older checkpoints store
    /// (`model.layers.N.self_attn.rotary_emb.inv_freq`), which readers skip.
    public static func isIgnoredBuffer(_ name: String) -> Bool {
        name.hasPrefix("model.layers.") && name.hasSuffix(".self_attn.rotary_emb.inv_freq")
    }

    /// Splits `prefix` + decimal layer number + "." + rest.
    private static func splitLayer(_ name: String, prefix: String) -> (Int, String)? {
        guard name.hasPrefix(prefix) else { return nil }
        let tail = name.dropFirst(prefix.count)
        guard let dot = tail.firstIndex(of: "."), let layer = Int(tail[..<dot]), layer >= 0,
            String(layer) == tail[..<dot]
        else { return nil }
        return (layer, String(tail[tail.index(after: dot)...]))
    }
}
