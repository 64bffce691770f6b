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
        metadata["tokenizer.ggml.model"] = .string("gpt2")
        metadata["tokenizer.ggml.pre"] = .string(vocabulary.preTokenizer)
        metadata["tokenizer.ggml.tokens"] = .array(.string, vocabulary.tokens.map { .string($0) })
        if !vocabulary.tokenTypes.isEmpty {
            metadata["tokenizer.ggml.token_type"] = .array(.int32, vocabulary.tokenTypes.map { .int32($0) })
        }
        metadata["tokenizer.ggml.merges"] = .array(.string, vocabulary.merges.map { .string($0) })
        for (key, id) in [
            ("bos", vocabulary.bosID), ("eos", vocabulary.eosID), ("unknown", vocabulary.unknownID),
            ("padding", vocabulary.paddingID),
        ] {
            if let id { metadata["tokenizer.ggml.\(key)_token_id"] = .uint32(UInt32(bitPattern: id)) }
        }
        metadata["tokenizer.ggml.add_bos_token"] = .bool(vocabulary.addBOS)
        if let chatTemplate { metadata["tokenizer.chat_template"] = .string(chatTemplate) }
        return metadata
    }
}
