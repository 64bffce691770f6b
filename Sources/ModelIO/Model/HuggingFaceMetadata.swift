import Tokenization

/// The GGUF metadata llama.cpp's converter would write for a Hugging Face LLaMA model, so that a
/// `Model` read from safetensors carries the same keys as one read from GGUF.
public enum HuggingFaceMetadata {
    /// Metadata for `config` (uniform, as config.json describes it) and `vocabulary`: `general.*`, `llama.*` hyper-parameters and
    /// `tokenizer.ggml.*` (plus `tokenizer.chat_template` when there is one).
    public static func gguf(
        config: LlamaConfig, vocabulary: BPEVocabulary, name: String, chatTemplate: String?
    ) -> GGUFMetadata {
        var metadata = GGUFMetadata([
            ("general.architecture", .string("llama")),
            ("general.name", .string(name)),
            ("llama.block_count", .uint32(UInt32(config.layerCount))),
            ("llama.context_length", .uint32(UInt32(config.contextLength))),
            ("llama.embedding_length", .uint32(UInt32(config.hiddenSize))),
            ("llama.feed_forward_length", .uint32(UInt32(config.layers[0].ffnSize))),
            ("llama.attention.head_count", .uint32(UInt32(config.layers[0].headCount))),
            ("llama.attention.head_count_kv", .uint32(UInt32(config.layers[0].kvHeadCount))),
            ("llama.rope.freq_base", .float32(config.ropeTheta)),
            ("llama.rope.dimension_count", .uint32(UInt32(config.headDim))),
            ("llama.attention.layer_norm_rms_epsilon", .float32(config.rmsNormEpsilon)),
            ("llama.vocab_size", .uint32(UInt32(config.vocabSize))),
        ])
        if config.headDim * config.layers[0].headCount != config.hiddenSize {
            metadata["llama.attention.key_length"] = .uint32(UInt32(config.headDim))
            metadata["llama.attention.value_length"] = .uint32(UInt32(config.headDim))
        }
        for (key, value) in vocabulary.ggufMetadata { metadata[key] = value }
        if let chatTemplate { metadata["tokenizer.chat_template"] = .string(chatTemplate) }
        return metadata
    }
}
