import JSON

/// The `config.json` of a Hugging Face LLaMA-family model: the architecture hyper-parameters plus
/// the few fields outside `LlamaConfig` that a round trip must keep (dtype, special token ids).
///
/// Reading accepts `LlamaForCausalLM`, `MistralForCausalLM` (same layout, Mistral's sliding
/// window applied), `Qwen2ForCausalLM` (q/k/v biases) and `Qwen3ForCausalLM` (q/k head norms),
/// and refuses what the forward pass does not implement: other attention or MLP biases,
/// activations other than SiLU, RoPE scaling other than `linear`, `llama3` and `yarn`. Both the
/// transformers 4 spelling (`rope_theta`, `rope_scaling`, `torch_dtype`) and the transformers 5
/// one (`rope_parameters`, `dtype`) are read; the 4.x spelling is written.
public struct HuggingFaceConfig: Sendable, Equatable {
    /// The hyper-parameters.
    public var llama: LlamaConfig
    /// The architecture: the descriptor of the first supported entry of `architectures` (or of
    /// `model_type`); always one with a Hugging Face form.
    public var descriptor: ArchitectureDescriptor
    /// `descriptor`'s `architectures` entry (`LlamaForCausalLM`, ...).
    public var architecture: String { descriptor.huggingFaceArchitecture ?? "LlamaForCausalLM" }
    /// `torch_dtype` (`bfloat16`, `float32`, ...), if given.
    public var torchDType: String?
    /// `bos_token_id`, if given.
    public var bosTokenID: Int?
    /// `eos_token_id` (one or several ids; empty if absent).
    public var eosTokenIDs: [Int]
    /// `pad_token_id`, if given.
    public var padTokenID: Int?

    /// Creates a configuration.
    ///
    /// - Precondition: `descriptor` has a Hugging Face form.
    public init(
        llama: LlamaConfig, descriptor: ArchitectureDescriptor = .llama, torchDType: String? = nil,
        bosTokenID: Int? = nil, eosTokenIDs: [Int] = [], padTokenID: Int? = nil
    ) {
        precondition(descriptor.huggingFaceArchitecture != nil, "\(descriptor.name) has no config.json form")
        self.llama = llama
        self.descriptor = descriptor
        self.torchDType = torchDType
        self.bosTokenID = bosTokenID
        self.eosTokenIDs = eosTokenIDs
        self.padTokenID = padTokenID
    }

    /// Reads and validates the `config.json` of the model directory `directory`.
    ///
    /// - Throws: `ModelIOError` naming the file and the key at fault.
    package init(directory: String) throws(ModelIOError) {
        let path = directory + "/" + HuggingFaceModelFiles.config
        try self.init(json: HuggingFaceJSONFile.bytes(path), path: path)
    }

    /// Parses and validates the bytes of a `config.json` read from `path`.
    ///
    /// - Throws: `ModelIOError` naming `path` and the key at fault.
    public init(json bytes: [UInt8], path: String) throws(ModelIOError) {
        let json = try HuggingFaceJSONFile.parse(bytes, path: path)
        func fail(_ key: String, _ message: String) -> ModelIOError { ModelIOError(path: path, item: key, message) }
        func present(_ key: String) -> JSONValue? {
            guard let value = json[key], !value.isNull else { return nil }
            return value
        }
        func integer(_ key: String) throws(ModelIOError) -> Int? {
            guard let value = present(key) else { return nil }
            guard let number = value.int else { throw fail(key, "is \(value.kindName), not an integer") }
            return number
        }
        func required(_ key: String) throws(ModelIOError) -> Int {
            guard let number = try integer(key) else { throw fail(key, "is missing") }
            return number
        }
        func float(_ key: String, in object: JSONValue = json) throws(ModelIOError) -> Float? {
            guard let value = object[key], !value.isNull else { return nil }
            guard let number = value.double else { throw fail(key, "is \(value.kindName), not a number") }
            return Float(number)
        }
        func flag(_ key: String) throws(ModelIOError) -> Bool? {
            guard let value = present(key) else { return nil }
            guard let bool = value.bool else { throw fail(key, "is \(value.kindName), not a bool") }
            return bool
        }

        let architectures = present("architectures").map { $0.array?.compactMap(\.string) ?? [] }
        let modelType = present("model_type")?.string
        guard let match = ArchitectureDescriptor.matching(huggingFace: architectures, modelType: modelType) else {
            let supported = ArchitectureDescriptor.supportedList(\.huggingFaceArchitecture)
            if let architectures {
                throw fail(
                    "architectures",
                    "\(architectures) is not supported; Shears has descriptors for \(supported) (deci has no config.json form)"
                )
            }
            throw fail(
                "architectures",
                "is missing and model_type \(modelType.map { "'\($0)'" } ?? "is missing too"): no descriptor matches; "
                    + "Shears has descriptors for "
                    + ArchitectureDescriptor.all.compactMap { $0.modelType }.joined(separator: ", "))
        }
        descriptor = match
        if let activation = present("hidden_act") {
            guard activation.string == "silu" else {
                throw fail("hidden_act", "activation \(activation.summary) is not supported (only silu)")
            }
        }
        let isQwen = [ArchitectureDescriptor.qwen2, .qwen3].contains(descriptor)
        // Qwen2 always has q/k/v biases whatever the key says; elsewhere it would add an o_proj bias too.
        for key in ["attention_bias", "mlp_bias"] where try flag(key) == true {
            if key == "attention_bias" && descriptor.attentionBiases == .required { continue }
            throw fail(key, "biases are not supported (Shears runs Qwen2's q/k/v biases only)")
        }
        if isQwen, try flag("use_sliding_window") == true {
            throw fail(
                "use_sliding_window",
                "Qwen's per-layer sliding window (max_window_layers) is not supported; Shears runs full attention")
        }
        var ropeTheta = try float("rope_theta") ?? 10000
        var ropeScaling = RopeScaling.none
        let contextLength = try integer("max_position_embeddings") ?? 2048
        for key in ["rope_scaling", "rope_parameters"] {
            guard let rope = present(key) else { continue }
            guard rope.members != nil else { throw fail(key, "is \(rope.kindName), not an object") }
            let type = rope["rope_type"]?.string ?? rope["type"]?.string ?? "default"
            if let theta = try float("rope_theta", in: rope) { ropeTheta = theta }
            func optional(_ name: String) throws(ModelIOError) -> Float? {
                guard let value = rope[name], !value.isNull else { return nil }
                guard let number = value.double else {
                    throw fail("\(key).\(name)", "is \(value.kindName), not a number")
                }
                return Float(number)
            }
            func parameter(_ name: String) throws(ModelIOError) -> Float {
                guard let number = try optional(name) else {
                    throw fail("\(key).\(name)", "is missing (RoPE type \"\(type)\" needs it)")
                }
                return number
            }
            func contextParameter(_ number: Float, _ name: String) throws(ModelIOError) -> Int {
                guard number.rounded() == number, number >= 1, number <= 1_073_741_824 else {
                    throw fail("\(name)", "\(number) is not a positive integer")
                }
                return Int(number)
            }
            switch type {
            case "default": break
            case "linear": ropeScaling = .linear(factor: try parameter("factor"))
            case "llama3":
                let original = try contextParameter(
                    try parameter("original_max_position_embeddings"), "\(key).original_max_position_embeddings")
                ropeScaling = .llama3(
                    factor: try parameter("factor"), lowFrequencyFactor: try parameter("low_freq_factor"),
                    highFrequencyFactor: try parameter("high_freq_factor"), originalContextLength: original)
            case "yarn":
                // As transformers' _compute_yarn_parameters: the original context defaults to
                // max_position_embeddings (a top-level key wins), the factor to their ratio.
                let original =
                    if let number = try float("original_max_position_embeddings") {
                        try contextParameter(number, "original_max_position_embeddings")
                    } else if let number = try optional("original_max_position_embeddings") {
                        try contextParameter(number, "\(key).original_max_position_embeddings")
                    } else { contextLength }
                let factor = try optional("factor") ?? Float(contextLength) / Float(original)
                if let truncate = rope["truncate"], !truncate.isNull, truncate.bool != true {
                    throw fail(
                        "\(key).truncate",
                        "YaRN without truncated correction dimensions is not supported (llama.cpp has none)")
                }
                var attentionFactor = try optional("attention_factor")
                if attentionFactor == nil, let mscale = try optional("mscale"), mscale != 0,
                    let allDims = try optional("mscale_all_dim"), allDims != 0
                {
                    attentionFactor =
                        RopeScaling.yarnAttentionFactor(factor, mscale: mscale)
                        / RopeScaling.yarnAttentionFactor(factor, mscale: allDims)
                }
                // transformers reads `beta_fast or 32`: 0 means the default too.
                let betaFast = try optional("beta_fast").flatMap { $0 == 0 ? nil : $0 } ?? 32
                let betaSlow = try optional("beta_slow").flatMap { $0 == 0 ? nil : $0 } ?? 1
                ropeScaling = .yarn(
                    factor: factor, originalContextLength: original, betaFast: betaFast, betaSlow: betaSlow,
                    attentionFactor: attentionFactor ?? RopeScaling.yarnAttentionFactor(factor))
            default:
                throw fail(
                    "\(key).rope_type",
                    "RoPE type \"\(type)\" is not supported (Shears runs default, linear, llama3 and yarn); "
                        + "convert the model with another tool or ask for this type")
            }
        }

        let hiddenSize = try required("hidden_size")
        let headCount = try required("num_attention_heads")
        // A window as long as the context never hides a position; Qwen2 names it but switches it off.
        var slidingWindow: Int?
        if let window = try integer("sliding_window"), try flag("use_sliding_window") ?? true, window < contextLength {
            slidingWindow = window
        }
        llama = LlamaConfig(
            layerCount: try required("num_hidden_layers"), hiddenSize: hiddenSize, headCount: headCount,
            kvHeadCount: try integer("num_key_value_heads") ?? headCount, headDim: try integer("head_dim"),
            ffnSize: try required("intermediate_size"), vocabSize: try required("vocab_size"),
            contextLength: contextLength, ropeTheta: ropeTheta, rmsNormEpsilon: try float("rms_norm_eps") ?? 1e-6,
            tiedEmbedding: try flag("tie_word_embeddings") ?? false, ropeScaling: ropeScaling
        )
        llama.slidingWindow = slidingWindow
        llama.attentionBiases = descriptor.attentionBiases == .required
        llama.queryKeyNorm = descriptor.queryKeyNorm == .required
        try llama.validate(path: path)

        if let dtype = present("torch_dtype") ?? present("dtype") {
            guard let name = dtype.string else { throw fail("torch_dtype", "is \(dtype.kindName), not a string") }
            torchDType = name
        }
        bosTokenID = try integer("bos_token_id")
        padTokenID = try integer("pad_token_id")
        switch present("eos_token_id") {
        case nil: eosTokenIDs = []
        case .array(let ids)?:
            eosTokenIDs = []
            for id in ids {
                guard let number = id.int else { throw fail("eos_token_id", "contains \(id.kindName), not an integer") }
                eosTokenIDs.append(number)
            }
        case let value?:
            guard let number = value.int else { throw fail("eos_token_id", "is \(value.kindName), not an integer") }
            eosTokenIDs = [number]
        }
    }

    /// Checks that `config` can be written as a `config.json`: transformers' `LlamaForCausalLM`
    /// gives every layer the same head counts and FFN width, and has no attention-free or FFN-free
    /// layers.
    ///
    /// - Throws: `ModelIOError` naming `path`, the first layer that differs and the field.
    public static func requireExpressible(_ config: LlamaConfig, path: String) throws(ModelIOError) {
        if case .frequencyFactors = config.ropeScaling {
            throw ModelIOError(
                path: path, item: "rope_scaling",
                "the RoPE frequency factors came from a GGUF rope_freqs.weight tensor, which does not record the "
                    + "llama3 parameters config.json needs; write a .gguf file instead")
        }
        if config.attentionBiases && config.queryKeyNorm {
            throw ModelIOError(
                path: path, item: "attention_bias",
                "config.json cannot express q/k/v biases together with q/k norms (Qwen3's attention_bias adds an "
                    + "o_proj bias too); write a .gguf file instead")
        }
        let first = config.layers[0]
        let advice =
            "config.json gives every layer one shape; write a .gguf file instead (llama.cpp's deci architecture holds per-layer shapes)"
        guard first.hasAttention && first.hasFFN else {
            let field = first.hasAttention ? "intermediate_size" : "num_attention_heads"
            throw ModelIOError(
                path: path, item: "layer 0 \(field)",
                "layer 0 has no \(first.hasAttention ? "FFN" : "attention"); \(advice)")
        }
        for (index, layer) in config.layers.enumerated() where layer != first {
            let field =
                layer.headCount != first.headCount
                ? "num_attention_heads (\(layer.headCount), layer 0 has \(first.headCount))"
                : layer.kvHeadCount != first.kvHeadCount
                    ? "num_key_value_heads (\(layer.kvHeadCount), layer 0 has \(first.kvHeadCount))"
                    : "intermediate_size (\(layer.ffnSize), layer 0 has \(first.ffnSize))"
            throw ModelIOError(path: path, item: "layer \(index)", "\(field) differs from layer 0; \(advice)")
        }
    }

    /// The `rope_scaling` object of `scaling` as transformers 4 writes it (null for plain RoPE).
    /// Per-frequency factors have no `config.json` form (`requireExpressible` refuses them).
    private static func ropeScalingJSON(_ scaling: RopeScaling) -> JSONValue {
        switch scaling {
        case .none, .frequencyFactors: .null
        case .linear(let factor): .object([("factor", .float(factor)), ("rope_type", .string("linear"))])
        case .yarn(let factor, let original, let betaFast, let betaSlow, let attentionFactor):
            .object([
                ("attention_factor", .float(attentionFactor)), ("beta_fast", .float(betaFast)),
                ("beta_slow", .float(betaSlow)), ("factor", .float(factor)),
                ("original_max_position_embeddings", .integer(original)), ("rope_type", .string("yarn")),
            ])
        case .llama3(let factor, let low, let high, let original):
            .object([
                ("factor", .float(factor)), ("high_freq_factor", .float(high)), ("low_freq_factor", .float(low)),
                ("original_max_position_embeddings", .integer(original)), ("rope_type", .string("llama3")),
            ])
        }
    }

    /// The `config.json` text `transformers` writes for this configuration (sorted keys,
    /// two-space indent). Every layer must have layer 0's shape (`requireExpressible`).
    public func json() -> [UInt8] {
        let shape = llama.layers[0]
        func id(_ value: Int?) -> JSONValue { value.map { .integer($0) } ?? .null }
        let eos: JSONValue =
            eosTokenIDs.count == 1
            ? .integer(eosTokenIDs[0])
            : eosTokenIDs.isEmpty ? .null : .array(eosTokenIDs.map { .integer($0) })
        let isQwen = [ArchitectureDescriptor.qwen2, .qwen3].contains(descriptor)
        var members: [(key: String, value: JSONValue)] = [
            ("architectures", .array([.string(architecture)])),
            ("attention_dropout", .number("0.0")),
            ("bos_token_id", id(bosTokenID)),
            ("eos_token_id", eos),
            ("head_dim", .integer(llama.headDim)),
            ("hidden_act", .string("silu")),
            ("hidden_size", .integer(llama.hiddenSize)),
            ("initializer_range", .number("0.02")),
            ("intermediate_size", .integer(shape.ffnSize)),
            ("max_position_embeddings", .integer(llama.contextLength)),
            ("mlp_bias", .bool(false)),
            ("model_type", .string(descriptor.modelType ?? "llama")),
            ("num_attention_heads", .integer(shape.headCount)),
            ("num_hidden_layers", .integer(llama.layerCount)),
            ("num_key_value_heads", .integer(shape.kvHeadCount)),
            ("pretraining_tp", .integer(1)),
            ("rms_norm_eps", .float(llama.rmsNormEpsilon)),
            ("rope_scaling", Self.ropeScalingJSON(llama.ropeScaling)),
            ("rope_theta", .float(llama.ropeTheta)),
            ("tie_word_embeddings", .bool(llama.tiedEmbedding)),
            ("use_cache", .bool(true)),
            ("vocab_size", .integer(llama.vocabSize)),
        ]
        if let padTokenID { members.append(("pad_token_id", .integer(padTokenID))) }
        // Qwen2 has no attention_bias key (its q/k/v biases are implied).
        if descriptor.attentionBiases != .required { members.append(("attention_bias", .bool(false))) }
        if isQwen {
            members.append(("use_sliding_window", .bool(false)))
            members.append(("max_window_layers", .integer(llama.layerCount)))
        }
        if !isQwen && (descriptor == .mistral || llama.slidingWindow != nil) {
            members.append(("sliding_window", id(llama.slidingWindow)))
        }
        if let torchDType { members.append(("torch_dtype", .string(torchDType))) }
        members.sort { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
        return JSONWriter.pretty(.object(members))
    }
}

extension LlamaConfig {
    /// Reads the hyper-parameters from the bytes of a Hugging Face `config.json` at `path`.
    ///
    /// - Throws: `ModelIOError` for an unsupported architecture or a missing/invalid field.
    public init(huggingFaceConfig bytes: [UInt8], path: String) throws(ModelIOError) {
        self = try HuggingFaceConfig(json: bytes, path: path).llama
    }
}
