/// The `<architecture>.*` hyper-parameter keys of a LLaMA-family GGUF file, written from a
/// `LlamaConfig` so that they always describe the tensors beside them (after surgery too), under
/// the architecture `ArchitectureDescriptor.forGGUF` picks.
///
/// llama.cpp's `llama` architecture sizes every layer from layer 0's head counts and FFN width,
/// so a model whose layers differ (or one with a layer lacking attention or FFN) is written as
/// `deci`, which reads per-layer arrays for `attention.head_count`, `attention.head_count_kv` and
/// `feed_forward_length` and runs a layer with 0 heads without attention. `key_length`,
/// `value_length` and `rope.dimension_count` are always written: without them llama.cpp derives
/// the head size from layer 0's head count. Linear RoPE scaling is written as
/// `rope.scaling.type`/`rope.scaling.factor`, YaRN with `original_context_length` and, when the
/// attention factor is not YaRN's default, `attn_factor` (other scalings as the
/// `rope_freqs.weight` tensor, by `ModelWriter`).
package enum GGUFArchitectureKeys {
    /// `metadata` with `general.architecture` and the hyper-parameter keys set from `config`.
    /// Keys of the old architecture's namespace that `config` does not determine (e.g.
    /// `rope.freq_base`, `context_length`) move to the new namespace with their values and place.
    package static func apply(_ config: LlamaConfig, to metadata: GGUFMetadata) -> GGUFMetadata {
        let old = metadata["general.architecture"]?.string ?? "llama"
        let new = ArchitectureDescriptor.forGGUF(config).ggufArchitecture
        var entries: [(String, GGUFValue)] = []
        for (key, value) in metadata {
            if key.hasPrefix(old + ".") {
                entries.append((new + key.dropFirst(old.count), value))
            } else {
                entries.append((key, value))
            }
        }
        var result = GGUFMetadata(entries)
        result["general.architecture"] = .string(new)
        func set(_ key: String, _ value: GGUFValue) { result["\(new).\(key)"] = value }
        func count(_ value: Int) -> GGUFValue { .uint32(UInt32(value)) }
        func perLayer(_ values: [Int]) -> GGUFValue {
            if let first = values.first, values.allSatisfy({ $0 == first }), new == "llama" { return count(first) }
            return .array(.int32, values.map { .int32(Int32($0)) })
        }
        set("block_count", count(config.layerCount))
        set("embedding_length", count(config.hiddenSize))
        set("feed_forward_length", perLayer(config.layers.map(\.ffnSize)))
        set("attention.head_count", perLayer(config.layers.map(\.headCount)))
        set("attention.head_count_kv", perLayer(config.layers.map(\.kvHeadCount)))
        set("attention.key_length", count(config.headDim))
        set("attention.value_length", count(config.headDim))
        set("rope.dimension_count", count(config.headDim))
        set("vocab_size", count(config.vocabSize))
        if result["\(new).context_length"] == nil { set("context_length", count(config.contextLength)) }
        if result["\(new).rope.freq_base"] == nil { set("rope.freq_base", .float32(config.ropeTheta)) }
        // Linear and YaRN scaling are keys; llama3 and per-frequency factors travel as rope_freqs.weight.
        let scalingKeys = [
            "type", "factor", "original_context_length", "attn_factor", "yarn_beta_fast", "yarn_beta_slow",
            "yarn_ext_factor", "yarn_attn_factor", "yarn_log_multiplier",
        ]
        switch config.ropeScaling {
        case .linear(let factor):
            set("rope.scaling.type", .string("linear"))
            set("rope.scaling.factor", .float32(factor))
        case .yarn(let factor, let original, _, _, let attentionFactor):
            for name in scalingKeys { result["\(new).rope.scaling.\(name)"] = nil }
            set("rope.scaling.type", .string("yarn"))
            set("rope.scaling.factor", .float32(factor))
            set("rope.scaling.original_context_length", count(original))
            // llama.cpp multiplies this by YaRN's default 0.1·ln(factor) + 1.
            let extra = attentionFactor / RopeScaling.yarnAttentionFactor(factor)
            if extra != 1 { set("rope.scaling.attn_factor", .float32(extra)) }
        case .none, .llama3, .frequencyFactors:
            if let type = result["\(new).rope.scaling.type"], type.string != "none" {
                for name in scalingKeys { result["\(new).rope.scaling.\(name)"] = nil }
            }
        }
        // llama.cpp's llama and deci graphs ignore this key (full attention); Shears reads it back.
        result["\(new).attention.sliding_window"] = config.slidingWindow.map(count)
        if result["\(new).attention.layer_norm_rms_epsilon"] == nil {
            set("attention.layer_norm_rms_epsilon", .float32(config.rmsNormEpsilon))
        }
        return result
    }

    /// Checks that llama.cpp runs `config`'s RoPE scaling as Shears does: its LLaMA-family graphs
    /// run YaRN with correction dimensions from 32 and 1 rotations only (they read no `yarn_beta_*`
    /// keys), so other betas are refused rather than written into a file llama.cpp runs differently.
    ///
    /// - Throws: `ModelIOError` naming `path` and the parameter.
    package static func requireLlamaCppRuns(_ config: LlamaConfig, path: String) throws(ModelIOError) {
        guard case .yarn(_, _, let betaFast, let betaSlow, _) = config.ropeScaling, betaFast != 32 || betaSlow != 1
        else { return }
        throw ModelIOError(
            path: path, item: "rope_scaling.beta_fast/beta_slow",
            "YaRN with beta_fast \(betaFast) and beta_slow \(betaSlow): llama.cpp's "
                + "\(ArchitectureDescriptor.forGGUF(config).ggufArchitecture) graph runs only 32 and 1 and would compute "
                + "other logits; write a Hugging Face directory instead")
    }
}
