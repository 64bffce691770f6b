import Tokenization

/// Builds a `Model` from a GGUF file written by llama.cpp's converters (architecture `llama`).
public enum GGUFModelReader {
    /// Architectures whose GGUF layout is the LLaMA decoder Shears runs.
    public static let supportedArchitectures: Set<String> = ["llama"]

    /// Reads and dequantizes every tensor of `file` and builds the tokenizer from its metadata.
    ///
    /// - Throws: `ModelIOError` naming the file and the key or tensor at fault.
    public static func load(_ file: GGUFFile) throws(ModelIOError) -> Model {
        var config = try config(from: file.metadata, path: file.path)
        config.tiedEmbedding = file.tensorInfo(named: LlamaTensorNames.output) == nil
        if file.tensorInfo(named: "rope_freqs.weight") != nil {
            throw ModelIOError(path: file.path, item: "rope_freqs.weight",
                               "RoPE frequency scaling (Llama 3.1 style) is not supported yet")
        }
        let vocabulary = try BPEVocabulary(gguf: file.metadata, path: file.path)
        let tokenizer: Tokenizer
        do {
            tokenizer = try Tokenizer(vocabulary: vocabulary)
        } catch {
            throw ModelIOError(path: file.path, item: "tokenizer", error.message)
        }
        let tensors = try file.loadAllTensors()
        return try Model(config: config, tensors: tensors, metadata: file.metadata, tokenizer: tokenizer,
                         sourcePath: file.path)
    }

    /// Reads the LLaMA hyper-parameters from GGUF metadata.
    ///
    /// - Throws: `ModelIOError` for another architecture, a missing or malformed key.
    public static func config(from metadata: GGUFMetadata, path: String) throws(ModelIOError) -> LlamaConfig {
        guard let architecture = metadata["general.architecture"]?.string else {
            throw ModelIOError(path: path, item: "general.architecture", "key is missing or not a string")
        }
        guard supportedArchitectures.contains(architecture) else {
            throw ModelIOError(path: path, item: "general.architecture",
                               "architecture '\(architecture)' is not supported; Shears runs LLaMA-family decoders ('llama')")
        }
        func integer(_ key: String) throws(ModelIOError) -> Int {
            guard let value = metadata["\(architecture).\(key)"] else {
                throw ModelIOError(path: path, item: "\(architecture).\(key)", "key is missing")
            }
            guard let number = value.int else {
                throw ModelIOError(path: path, item: "\(architecture).\(key)", "expected an integer, found \(value.type)")
            }
            return number
        }
        func optionalInteger(_ key: String) throws(ModelIOError) -> Int? {
            metadata["\(architecture).\(key)"] == nil ? nil : try integer(key)
        }
        func float(_ key: String, default fallback: Float) throws(ModelIOError) -> Float {
            guard let value = metadata["\(architecture).\(key)"] else { return fallback }
            guard let number = value.double else {
                throw ModelIOError(path: path, item: "\(architecture).\(key)", "expected a number, found \(value.type)")
            }
            return Float(number)
        }
        let hidden = try integer("embedding_length")
        let heads = try integer("attention.head_count")
        let headDim = try optionalInteger("attention.key_length") ?? (heads > 0 ? hidden / heads : 0)
        if let ropeDims = try optionalInteger("rope.dimension_count"), ropeDims != headDim {
            throw ModelIOError(path: path, item: "\(architecture).rope.dimension_count",
                               "partial rotary embeddings (\(ropeDims) of \(headDim) dimensions) are not supported")
        }
        if let scaling = metadata["\(architecture).rope.scaling.type"]?.string, scaling != "none" {
            throw ModelIOError(path: path, item: "\(architecture).rope.scaling.type",
                               "RoPE scaling '\(scaling)' is not supported yet")
        }
        let tokenCount = metadata["tokenizer.ggml.tokens"]?.array?.count
        let config = LlamaConfig(
            layerCount: try integer("block_count"),
            hiddenSize: hidden,
            headCount: heads,
            kvHeadCount: try optionalInteger("attention.head_count_kv") ?? heads,
            headDim: headDim,
            ffnSize: try integer("feed_forward_length"),
            vocabSize: try optionalInteger("vocab_size") ?? tokenCount ?? 0,
            contextLength: try optionalInteger("context_length") ?? 2048,
            ropeTheta: try float("rope.freq_base", default: 10000),
            rmsNormEpsilon: try float("attention.layer_norm_rms_epsilon", default: 1e-5),
            tiedEmbedding: false
        )
        try config.validate(path: path)
        return config
    }
}
