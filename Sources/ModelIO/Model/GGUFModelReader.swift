import Tokenization

/// Builds a `Model` from a GGUF file of a LLaMA-family decoder, matched to an
/// `ArchitectureDescriptor` by `general.architecture` (`llama`, `deci` for layers of different
/// shapes, `qwen2` with q/k/v biases, `qwen3` with q/k head norms).
public enum GGUFModelReader {
    /// Reads `file` and builds the tokenizer from its metadata. `.resident` dequantizes every
    /// tensor now; `.streamed` leaves the matrices in the mapped file, decoded when read through a
    /// cache of about one layer (vectors are read now). Either way every tensor is checked for
    /// non-finite values before the model is returned (a streamed one a tensor at a time).
    ///
    /// - Throws: `ModelIOError` naming the file and the key or tensor at fault.
    public static func load(_ file: GGUFFile, residency: ModelResidency = .resident) throws(ModelIOError) -> Model {
        var config = try config(from: file.metadata, path: file.path)
        config.tiedEmbedding = file.tensorInfo(named: LlamaTensorNames.output) == nil
        let vocabulary = try BPEVocabulary(gguf: file.metadata, path: file.path)
        let tokenizer: Tokenizer
        do {
            tokenizer = try Tokenizer(vocabulary: vocabulary)
        } catch {
            throw ModelIOError(path: file.path, item: "tokenizer", error.message)
        }
        let descriptor = try ArchitectureDescriptor.matching(gguf: file.metadata, path: file.path)
        // A required feature is on (Model names a missing tensor), an optional one when the file
        // has its tensors, an absent one off (Model refuses its tensors).
        let parsed = file.tensors.compactMap { LlamaTensorNames.parse($0.name) }
        func feature(_ presence: ArchitectureDescriptor.Presence, _ kind: ArchitectureDescriptor.Feature) -> Bool {
            presence == .required
                || presence == .optional
                    && parsed.contains { ArchitectureDescriptor.LayerTensor.of($0.part, $0.kind)?.feature == kind }
        }
        config.attentionBiases = feature(descriptor.attentionBiases, .attentionBiases)
        config.queryKeyNorm = feature(descriptor.queryKeyNorm, .queryKeyNorm)
        let reorder = descriptor.ggufRowOrder == .huggingFace
        let cache = residency == .streamed ? TensorCache(budget: largestLayerBytes(config)) : nil
        if cache != nil { AllocatorTuning.returnFreedLayersToSystem }
        var tensors: [Tensor] = []
        for info in file.tensors {
            if let cache, info.dimensions.count >= 2 {
                try file.checkDequantizable(info)
                let source = TensorSource(
                    .gguf(file, info), count: info.elementCount, cache: cache,
                    transform: reorder ? rowOrderTransform(info, config: config) : nil)
                tensors.append(Tensor(name: info.name, shape: info.shape, source: source, sourceType: info.type))
            } else {
                let tensor = try file.loadTensor(info)
                tensors.append(
                    reorder ? HuggingFaceRotaryPermutation.convert(tensor, config: config, toGGUF: true) : tensor)
            }
        }
        if let index = tensors.firstIndex(where: { $0.name == LlamaTensorNames.ropeFrequencies }) {
            // llama.cpp's converter stores Llama 3.1's RoPE scaling as per-frequency divisors.
            let item = LlamaTensorNames.ropeFrequencies
            guard config.ropeScaling == .none else {
                throw ModelIOError(
                    path: file.path, item: item,
                    "the file has both \(item) and rope.scaling.type \(config.ropeScaling.summary); Shears runs one")
            }
            config.ropeScaling = .frequencyFactors(tensors.remove(at: index).storage.array)
            try config.ropeScaling.validate(frequencies: config.headDim / 2, path: file.path, item: item)
        }
        let model = try Model(
            config: config, tensors: tensors, metadata: file.metadata, tokenizer: tokenizer,
            sourcePath: file.path, descriptor: descriptor)
        model.cache = cache
        return model
    }

    /// Puts a streamed tensor of a Hugging Face-ordered file into GGUF row order once decoded.
    private static func rowOrderTransform(
        _ info: GGUFTensorInfo, config: LlamaConfig
    ) -> @Sendable (TensorStorage) -> TensorStorage {
        let (name, shape) = (info.name, info.shape)
        return { storage in
            let tensor = Tensor(name: name, shape: shape, storage: storage)
            return HuggingFaceRotaryPermutation.convert(tensor, config: config, toGGUF: true).storage
        }
    }

    /// Bytes of the largest layer's tensors as Float32: a streamed model's cache budget, so that
    /// the layer in use is decoded once for all its calls (a larger embedding or output is still
    /// cached, alone, as the newest entry).
    package static func largestLayerBytes(_ config: LlamaConfig) -> Int {
        var perLayer: [Int: Int] = [:]
        for (name, shape) in LlamaTensorNames.expected(config) {
            if let layer = LlamaTensorNames.parse(name)?.layer { perLayer[layer, default: 0] += shape.reduce(1, *) }
        }
        return (perLayer.values.max() ?? 0) * MemoryLayout<Float>.stride
    }

    /// Reads the LLaMA hyper-parameters from GGUF metadata of an architecture that
    /// `ArchitectureDescriptor.matching(gguf:path:)` knows: head counts and FFN width as one
    /// number or as per-layer arrays (a layer with 0 heads has no attention, one with an FFN
    /// width of 0 no FFN). The q/k/v bias and head-norm flags are the tensors' (`load`).
    ///
    /// - Throws: `ModelIOError` for an unknown architecture (listing the descriptors), a missing
    ///   or malformed key.
    public static func config(from metadata: GGUFMetadata, path: String) throws(ModelIOError) -> LlamaConfig {
        let architecture = try ArchitectureDescriptor.matching(gguf: metadata, path: path).ggufArchitecture
        func integer(_ key: String) throws(ModelIOError) -> Int {
            guard let value = metadata["\(architecture).\(key)"] else {
                throw ModelIOError(path: path, item: "\(architecture).\(key)", "key is missing")
            }
            guard let number = value.int else {
                throw ModelIOError(
                    path: path, item: "\(architecture).\(key)", "expected an integer, found \(value.type)")
            }
            return number
        }
        func optionalInteger(_ key: String) throws(ModelIOError) -> Int? {
            metadata["\(architecture).\(key)"] == nil ? nil : try integer(key)
        }
        /// A per-layer value: one integer for every layer, or an array of one per layer.
        func perLayer(_ key: String, layers: Int, default fallback: [Int]? = nil) throws(ModelIOError) -> [Int] {
            let item = "\(architecture).\(key)"
            guard let value = metadata[item] else {
                if let fallback { return fallback }
                throw ModelIOError(path: path, item: item, "key is missing")
            }
            if let number = value.int { return Array(repeating: number, count: layers) }
            guard let elements = value.array else {
                throw ModelIOError(
                    path: path, item: item, "expected an integer or an array of integers, found \(value.type)")
            }
            guard elements.count == layers else {
                throw ModelIOError(path: path, item: item, "has \(elements.count) entries for \(layers) layers")
            }
            var numbers: [Int] = []
            for (index, element) in elements.enumerated() {
                guard let number = element.int else {
                    throw ModelIOError(
                        path: path, item: "\(item)[\(index)]", "expected an integer, found \(element.type)")
                }
                numbers.append(number)
            }
            return numbers
        }
        func float(_ key: String, default fallback: Float) throws(ModelIOError) -> Float {
            guard let value = metadata["\(architecture).\(key)"] else { return fallback }
            guard let number = value.double else {
                throw ModelIOError(path: path, item: "\(architecture).\(key)", "expected a number, found \(value.type)")
            }
            return Float(number)
        }
        let layerCount = try integer("block_count")
        guard (1...4096).contains(layerCount) else {
            throw ModelIOError(
                path: path, item: "\(architecture).block_count", "layer count \(layerCount) is not in 1...4096")
        }
        let hidden = try integer("embedding_length")
        let heads = try perLayer("attention.head_count", layers: layerCount)
        let kvHeads = try perLayer("attention.head_count_kv", layers: layerCount, default: heads)
        let ffn = try perLayer("feed_forward_length", layers: layerCount)
        // llama.cpp derives the head size from layer 0's head count when key_length is absent.
        let headDim = try optionalInteger("attention.key_length") ?? (heads[0] > 0 ? hidden / heads[0] : 0)
        if let valueLength = try optionalInteger("attention.value_length"), valueLength != headDim {
            throw ModelIOError(
                path: path, item: "\(architecture).attention.value_length",
                "value head size \(valueLength) differs from the key head size \(headDim); not supported")
        }
        if let ropeDims = try optionalInteger("rope.dimension_count"), ropeDims != headDim {
            throw ModelIOError(
                path: path, item: "\(architecture).rope.dimension_count",
                "partial rotary embeddings (\(ropeDims) of \(headDim) dimensions) are not supported")
        }
        let ropeScaling = try ropeScaling(metadata, architecture: architecture, path: path)
        for (layer, (queryHeads, kv)) in zip(heads, kvHeads).enumerated() where queryHeads > 0 && kv == 0 {
            throw ModelIOError(
                path: path, item: "\(architecture).attention.head_count_kv[\(layer)]",
                "layer \(layer) has \(queryHeads) query heads and no key/value heads (Nemotron's linear "
                    + "attention), which Shears does not run")
        }
        let tokenCount = metadata["tokenizer.ggml.tokens"]?.array?.count
        let shapes = (0..<layerCount).map {
            LayerShape(headCount: heads[$0], kvHeadCount: kvHeads[$0], ffnSize: ffn[$0])
        }
        var config = LlamaConfig(
            layers: shapes,
            hiddenSize: hidden,
            headDim: headDim,
            vocabSize: try optionalInteger("vocab_size") ?? tokenCount ?? 0,
            contextLength: try optionalInteger("context_length") ?? 2048,
            ropeTheta: try float("rope.freq_base", default: 10000),
            rmsNormEpsilon: try float("attention.layer_norm_rms_epsilon", default: 1e-5),
            tiedEmbedding: false,
            ropeScaling: ropeScaling
        )
        config.slidingWindow = try optionalInteger("attention.sliding_window")
        try config.validate(path: path)
        return config
    }

    /// The RoPE scaling of `architecture`'s `rope.scaling.*` keys as llama.cpp's LLaMA-family
    /// graphs run them: `none`, `linear` (`factor`), `yarn` (`factor`, `original_context_length`,
    /// default the training context; cosines and sines scaled by YaRN's `0.1·ln(factor) + 1` times
    /// `attn_factor`, correction dimensions from 32 and 1 rotations). llama.cpp reads no
    /// `yarn_*` keys for these graphs, so one that asks for something else is refused rather than
    /// silently run differently; so is an `attn_factor` other than 1 without YaRN.
    ///
    /// - Throws: `ModelIOError` naming the key.
    private static func ropeScaling(
        _ metadata: GGUFMetadata, architecture: String, path: String
    ) throws(ModelIOError) -> RopeScaling {
        func key(_ name: String) -> String { "\(architecture).rope.scaling.\(name)" }
        func float(_ name: String) throws(ModelIOError) -> Float? {
            guard let value = metadata[key(name)] else { return nil }
            guard let number = value.double else {
                throw ModelIOError(path: path, item: key(name), "expected a number, found \(value.type)")
            }
            return Float(number)
        }
        let type = metadata[key("type")]
        // llama.cpp treats a factor of 0 as "no scaling".
        let factor = try float("factor").flatMap { $0 == 0 ? nil : $0 }
        let attention = try float("attn_factor") ?? 1
        switch type {
        case nil, .string("none")?, .string("linear")?:
            guard attention == 1 else {
                throw ModelIOError(
                    path: path, item: key("attn_factor"),
                    "an attention factor of \(attention) without YaRN scaling is not supported")
            }
            if type == .string("linear"), let factor { return .linear(factor: factor) }
            return .none
        case .string("yarn")?:
            let factor = factor ?? 1
            let effective = RopeScaling.yarnAttentionFactor(factor) * attention
            // What llama.cpp runs for these graphs whatever the key says.
            for (name, value) in [
                ("yarn_beta_fast", Float(32)), ("yarn_beta_slow", 1), ("yarn_ext_factor", 1),
                ("yarn_attn_factor", effective), ("yarn_log_multiplier", 0),
            ] {
                if let given = try float(name), abs(given - value) > 1e-6 * max(1, abs(value)) {
                    throw ModelIOError(
                        path: path, item: key(name),
                        "is \(given), but llama.cpp's \(architecture) graph ignores this key and runs \(value); "
                            + "Shears refuses the ambiguity (convert the model with the key removed)")
                }
            }
            var original = metadata["\(architecture).context_length"]?.int ?? 2048
            if let value = metadata[key("original_context_length")] {
                guard let number = value.int, number > 0 else {
                    throw ModelIOError(
                        path: path, item: key("original_context_length"), "expected a positive integer")
                }
                original = number
            }
            let scaling = RopeScaling.yarn(
                factor: factor, originalContextLength: original, betaFast: 32, betaSlow: 1, attentionFactor: effective)
            try scaling.validate(frequencies: 0, path: path, item: key("type"))
            return scaling
        case let value?:
            throw ModelIOError(
                path: path, item: key("type"),
                "RoPE scaling \(value.string.map { "'\($0)'" } ?? "of type \(value.type)") is not supported "
                    + "(Shears runs none, linear and yarn here, and llama3 through rope_freqs.weight)")
        }
    }
}
