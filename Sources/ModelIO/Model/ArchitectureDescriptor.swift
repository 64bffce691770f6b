/// One LLaMA-family architecture as Shears reads and writes it: its GGUF and Hugging Face names,
/// which optional features (q/k/v biases, q/k head norms, a sliding window, per-layer shapes) its
/// files carry, and how its GGUF files order the q/k rows. The tensors themselves (names in both
/// layouts, shapes, what structured pruning slices together) are one table, `LayerTensor.all`,
/// that every descriptor shares; a descriptor says which of its optional rows are present.
///
/// Readers match a file to a descriptor (`matching(gguf:path:)`, `matching(huggingFace:)`) and
/// refuse an unknown architecture listing `all`; writers pick the first descriptor of `all` that
/// accepts the configuration (`forGGUF`, `forHuggingFace`). A new architecture of this family is
/// one more descriptor here.
public struct ArchitectureDescriptor: Sendable, Hashable, CustomStringConvertible {
    /// Whether a feature is part of every file of an architecture, may be, or never is.
    public enum Presence: Sendable, Hashable {
        /// Never: a file with the feature's tensors is refused.
        case absent
        /// Either way: the file's tensors (or keys) decide.
        case optional
        /// Always: a file without the feature's tensors is refused, naming the first missing one.
        case required
    }

    /// How GGUF files of an architecture order the rows of `attn_q`/`attn_k` (with their biases
    /// and head norms) within each head.
    public enum RowOrder: Sendable, Hashable {
        /// Adjacent pairs `(2i, 2i+1)` rotate together (llama.cpp's converter permutes the Hugging
        /// Face rows; `Model`'s own order).
        case ropePairs
        /// Hugging Face's order: dimension `i` rotates with `i + headDim/2` (NeoX RoPE).
        case huggingFace
    }

    /// The short name Shears uses (`llama`, `deci`, `mistral`, `qwen2`, `qwen3`).
    public let name: String
    /// The GGUF `general.architecture` (Mistral's files are llama.cpp's `llama`).
    public let ggufArchitecture: String
    /// The `architectures` entry of `config.json`, nil when the architecture has no Hugging Face
    /// form Shears reads or writes (`deci`).
    public let huggingFaceArchitecture: String?
    /// The `model_type` of `config.json` (nil without a Hugging Face form).
    public let modelType: String?
    /// The q/k row order of its GGUF files.
    public let ggufRowOrder: RowOrder
    /// q/k/v biases in every layer with attention (`LlamaConfig.attentionBiases`).
    public let attentionBiases: Presence
    /// Per-head q/k RMSNorms in every layer with attention (`LlamaConfig.queryKeyNorm`).
    public let queryKeyNorm: Presence
    /// Sliding-window attention (`LlamaConfig.slidingWindow`; llama.cpp's graphs here ignore it).
    public let slidingWindow: Presence
    /// Whether layers may differ in head counts and FFN width, or lack attention or FFN
    /// (otherwise every layer has layer 0's shape with both sub-blocks).
    public let perLayerShapes: Bool
    /// Whether the GGUF form needs query heads spanning the hidden size (`heads × headDim =
    /// hidden`), as llama.cpp's `qwen2` graph shapes its matrices.
    public let queryWidthIsHidden: Bool

    /// LLaMA 1-3, TinyLlama, SmolLM2: every layer alike, no biases, RoPE-pair rows in GGUF.
    public static let llama = ArchitectureDescriptor(
        name: "llama", ggufArchitecture: "llama", huggingFaceArchitecture: "LlamaForCausalLM", modelType: "llama",
        ggufRowOrder: .ropePairs, attentionBiases: .absent, queryKeyNorm: .absent, slidingWindow: .absent,
        perLayerShapes: false, queryWidthIsHidden: false)
    /// llama.cpp's `deci` (Nemotron-NAS): per-layer shapes, which structured pruning produces;
    /// optional q/k/v biases (a pruned Qwen2).
    public static let deci = ArchitectureDescriptor(
        name: "deci", ggufArchitecture: "deci", huggingFaceArchitecture: nil, modelType: nil,
        ggufRowOrder: .ropePairs, attentionBiases: .optional, queryKeyNorm: .absent, slidingWindow: .optional,
        perLayerShapes: true, queryWidthIsHidden: false)
    /// Mistral: the LLaMA block with an optional sliding window; llama.cpp runs it as `llama`.
    public static let mistral = ArchitectureDescriptor(
        name: "mistral", ggufArchitecture: "llama", huggingFaceArchitecture: "MistralForCausalLM",
        modelType: "mistral", ggufRowOrder: .ropePairs, attentionBiases: .absent, queryKeyNorm: .absent,
        slidingWindow: .optional, perLayerShapes: false, queryWidthIsHidden: false)
    /// Qwen2 / Qwen2.5: q/k/v biases, Hugging Face rows in GGUF.
    public static let qwen2 = ArchitectureDescriptor(
        name: "qwen2", ggufArchitecture: "qwen2", huggingFaceArchitecture: "Qwen2ForCausalLM", modelType: "qwen2",
        ggufRowOrder: .huggingFace, attentionBiases: .required, queryKeyNorm: .absent, slidingWindow: .optional,
        perLayerShapes: false, queryWidthIsHidden: true)
    /// Qwen3: per-head q/k RMSNorms, Hugging Face rows in GGUF. Per-layer shapes (a structurally
    /// pruned Qwen3) are written as `qwen3`, which only Shears runs.
    public static let qwen3 = ArchitectureDescriptor(
        name: "qwen3", ggufArchitecture: "qwen3", huggingFaceArchitecture: "Qwen3ForCausalLM", modelType: "qwen3",
        ggufRowOrder: .huggingFace, attentionBiases: .optional, queryKeyNorm: .required, slidingWindow: .optional,
        perLayerShapes: true, queryWidthIsHidden: false)

    /// Every descriptor, in the order writers try them.
    public static let all: [ArchitectureDescriptor] = [.qwen3, .qwen2, .llama, .mistral, .deci]

    /// `qwen2: q/k/v biases, HF row order`: the name and what sets the architecture apart.
    public var description: String {
        var features: [String] = []
        func add(_ presence: Presence, _ feature: String) {
            switch presence {
            case .absent: break
            case .optional: features.append("optional \(feature)")
            case .required: features.append(feature)
            }
        }
        if perLayerShapes { features.append("per-layer shapes") }
        add(attentionBiases, "q/k/v biases")
        add(queryKeyNorm, "q/k head norms")
        add(slidingWindow, "sliding window")
        features.append(ggufRowOrder == .huggingFace ? "HF row order" : "RoPE-pair row order")
        return "\(name): " + features.joined(separator: ", ")
    }

    /// Whether `config` fits the architecture: its features and layer shapes (with
    /// `queryWidthIsHidden` when written `toGGUF`).
    public func accepts(_ config: LlamaConfig, toGGUF: Bool) -> Bool {
        func fits(_ presence: Presence, _ present: Bool) -> Bool {
            presence == .optional || (presence == .required) == present
        }
        guard fits(attentionBiases, config.attentionBiases), fits(queryKeyNorm, config.queryKeyNorm),
            fits(slidingWindow, config.slidingWindow != nil)
        else { return false }
        if !perLayerShapes {
            guard let shape = config.uniformShape, shape.hasAttention, shape.hasFFN else { return false }
            if toGGUF && queryWidthIsHidden && shape.headCount * config.headDim != config.hiddenSize { return false }
        }
        return true
    }

    /// The descriptor a GGUF file of `config` is written as: the first of `all` that accepts it.
    public static func forGGUF(_ config: LlamaConfig) -> ArchitectureDescriptor {
        all.first { $0.accepts(config, toGGUF: true) } ?? .deci
    }

    /// The descriptor a `config.json` of `config` is written as: the first of `all` with a
    /// Hugging Face form that accepts it, nil when none does.
    public static func forHuggingFace(_ config: LlamaConfig) -> ArchitectureDescriptor? {
        all.first { $0.huggingFaceArchitecture != nil && $0.accepts(config, toGGUF: false) }
    }

    /// The list of supported names for an error message: `llama (LlamaForCausalLM), deci, ...`.
    static func supportedList(_ key: KeyPath<ArchitectureDescriptor, String?>) -> String {
        all.map { descriptor in descriptor[keyPath: key].map { "\(descriptor.name) (\($0))" } ?? descriptor.name }
            .joined(separator: ", ")
    }

    /// The descriptor of GGUF `metadata`'s `general.architecture` (`llama` with an
    /// `attention.sliding_window` key is Mistral).
    ///
    /// - Throws: `ModelIOError` naming `path` and `general.architecture`, listing the supported
    ///   descriptors, for an unknown or missing architecture.
    public static func matching(
        gguf metadata: GGUFMetadata, path: String
    ) throws(ModelIOError)
        -> ArchitectureDescriptor
    {
        let item = "general.architecture"
        guard let architecture = metadata[item]?.string else {
            throw ModelIOError(path: path, item: item, "key is missing or not a string")
        }
        let candidates = all.filter { $0.ggufArchitecture == architecture }
        guard let first = candidates.first else {
            throw ModelIOError(
                path: path, item: item,
                "architecture '\(architecture)' is not supported; Shears has descriptors for "
                    + all.map { "\($0.name) (GGUF \($0.ggufArchitecture))" }.joined(separator: ", "))
        }
        // llama.cpp's llama file with a window is Mistral's.
        let windowed = metadata["\(architecture).attention.sliding_window"] != nil
        return candidates.first { windowed ? $0.slidingWindow != .absent : $0.slidingWindow != .required } ?? first
    }

    /// The descriptor whose Hugging Face architecture is the first supported entry of
    /// `architectures`, or, without that key, whose `model_type` is `modelType`; nil when none is.
    public static func matching(huggingFace architectures: [String]?, modelType: String?) -> ArchitectureDescriptor? {
        if let architectures {
            return architectures.lazy.compactMap { name in all.first { $0.huggingFaceArchitecture == name } }.first
        }
        return all.first { $0.modelType != nil && $0.modelType == modelType }
    }

    /// Why the architecture requires the tensor called `name` (GGUF convention), for an error
    /// saying it is missing: `the qwen2 descriptor (qwen2: q/k/v biases, ...) requires it: ...`.
    public func requirement(of tensorName: String) -> String {
        var reason = "every model has it"
        if let (_, part, kind) = LlamaTensorNames.parse(tensorName), let tensor = LayerTensor.of(part, kind) {
            switch tensor.feature {
            case nil: reason = "every layer with \(part.isAttention ? "attention" : "an FFN") has it"
            case .attentionBiases?: reason = "every attention has q/k/v biases"
            case .queryKeyNorm?: reason = "every attention has q/k head norms"
            case .outputBiases?: reason = "an output bias"
            }
        }
        return "the \(name) descriptor (\(description)) requires it: \(reason)"
    }
}

extension ArchitectureDescriptor {
    /// One dimension of a tensor, named by what it indexes, so that shapes and structural
    /// slicing come from one place.
    public enum Axis: Sendable, Hashable {
        /// The residual stream (`hiddenSize`).
        case hidden
        /// A layer's query heads × head dimension.
        case queryRows
        /// A layer's key/value heads × head dimension.
        case kvRows
        /// A layer's FFN channels.
        case ffn
        /// One head's dimensions (a head norm).
        case headDim
        /// The vocabulary.
        case vocabulary

        /// The length of this axis in layer `layer` of `config` (`layer` is ignored for model-wide axes).
        public func size(_ config: LlamaConfig, layer: Int) -> Int {
            switch self {
            case .hidden: config.hiddenSize
            case .queryRows: config.queryWidth(layer)
            case .kvRows: config.kvWidth(layer)
            case .ffn: config.layers[layer].ffnSize
            case .headDim: config.headDim
            case .vocabulary: config.vocabSize
            }
        }
    }

    /// An optional feature that decides whether a per-layer tensor exists.
    public enum Feature: Sendable, Hashable {
        /// q/k/v biases (`ArchitectureDescriptor.attentionBiases`).
        case attentionBiases
        /// q/k head norms (`ArchitectureDescriptor.queryKeyNorm`).
        case queryKeyNorm
        /// `attn_output`/`ffn_down` biases, optional in every layer of every architecture
        /// (structured pruning's compensation lands there; llama.cpp applies them).
        case outputBiases
    }

    /// One row of the tensor table: a per-layer tensor's part and kind (its GGUF name), its
    /// Hugging Face name after `model.layers.N.`, the feature it comes with (nil: every layer with
    /// its sub-block has it) and its axes (one for a vector).
    public struct LayerTensor: Sendable, Hashable {
        /// The part of the layer.
        public let part: LlamaTensorNames.Layer
        /// Weight, bias or head norm.
        public let kind: LlamaTensorNames.Kind
        /// Hugging Face name after `model.layers.N.`.
        public let huggingFace: String
        /// The feature it comes with; nil when it is always there.
        public let feature: Feature?
        /// Its axes, rows first.
        public let axes: [Axis]

        private init(
            _ part: LlamaTensorNames.Layer, _ kind: LlamaTensorNames.Kind, _ huggingFace: String, _ feature: Feature?,
            _ axes: [Axis]
        ) {
            (self.part, self.kind, self.huggingFace, self.feature, self.axes) = (part, kind, huggingFace, feature, axes)
        }

        /// Every per-layer tensor, in the order a layer lists them (part by part: weight, bias,
        /// head norm), as llama.cpp's converters write them.
        public static let all: [LayerTensor] = [
            .init(.attentionNorm, .weight, "input_layernorm.weight", nil, [.hidden]),
            .init(.query, .weight, "self_attn.q_proj.weight", nil, [.queryRows, .hidden]),
            .init(.query, .bias, "self_attn.q_proj.bias", .attentionBiases, [.queryRows]),
            .init(.query, .headNorm, "self_attn.q_norm.weight", .queryKeyNorm, [.headDim]),
            .init(.key, .weight, "self_attn.k_proj.weight", nil, [.kvRows, .hidden]),
            .init(.key, .bias, "self_attn.k_proj.bias", .attentionBiases, [.kvRows]),
            .init(.key, .headNorm, "self_attn.k_norm.weight", .queryKeyNorm, [.headDim]),
            .init(.value, .weight, "self_attn.v_proj.weight", nil, [.kvRows, .hidden]),
            .init(.value, .bias, "self_attn.v_proj.bias", .attentionBiases, [.kvRows]),
            .init(.attentionOutput, .weight, "self_attn.o_proj.weight", nil, [.hidden, .queryRows]),
            .init(.attentionOutput, .bias, "self_attn.o_proj.bias", .outputBiases, [.hidden]),
            .init(.ffnNorm, .weight, "post_attention_layernorm.weight", nil, [.hidden]),
            .init(.gate, .weight, "mlp.gate_proj.weight", nil, [.ffn, .hidden]),
            .init(.up, .weight, "mlp.up_proj.weight", nil, [.ffn, .hidden]),
            .init(.down, .weight, "mlp.down_proj.weight", nil, [.hidden, .ffn]),
            .init(.down, .bias, "mlp.down_proj.bias", .outputBiases, [.hidden]),
        ]

        private static let byKey = Dictionary(uniqueKeysWithValues: all.map { (Key(part: $0.part, kind: $0.kind), $0) })
        private static let byHuggingFace = Dictionary(uniqueKeysWithValues: all.map { ($0.huggingFace, $0) })

        private struct Key: Hashable {
            let part: LlamaTensorNames.Layer, kind: LlamaTensorNames.Kind
        }

        /// The row of `part`'s `kind` tensor, nil when no architecture has it.
        public static func of(_ part: LlamaTensorNames.Layer, _ kind: LlamaTensorNames.Kind) -> LayerTensor? {
            byKey[Key(part: part, kind: kind)]
        }

        /// The row whose Hugging Face name (after `model.layers.N.`) is `suffix`.
        static func of(huggingFace suffix: String) -> LayerTensor? { byHuggingFace[suffix] }

        /// Its shape in layer `layer` of `config`.
        public func shape(_ config: LlamaConfig, layer: Int) -> [Int] {
            axes.map { $0.size(config, layer: layer) }
        }
    }

    /// A model-wide tensor: GGUF and Hugging Face names, axes, and whether a tied model lacks it.
    public struct GlobalTensor: Sendable, Hashable {
        /// GGUF name.
        public let gguf: String
        /// Hugging Face name.
        public let huggingFace: String
        /// Its axes, rows first.
        public let axes: [Axis]
        /// Whether it is absent when the output is tied to the token embedding (`output.weight`).
        public let untiedOnly: Bool

        /// The token embedding, the final norm and the output projection, in file order.
        public static let all = [
            GlobalTensor(
                gguf: LlamaTensorNames.tokenEmbedding, huggingFace: "model.embed_tokens.weight",
                axes: [.vocabulary, .hidden], untiedOnly: false),
            GlobalTensor(
                gguf: LlamaTensorNames.outputNorm, huggingFace: "model.norm.weight", axes: [.hidden], untiedOnly: false),
            GlobalTensor(
                gguf: LlamaTensorNames.output, huggingFace: "lm_head.weight", axes: [.vocabulary, .hidden],
                untiedOnly: true),
        ]
    }
}

extension ArchitectureDescriptor {
    /// The GGUF name of the Hugging Face tensor `name` (`model.layers.3.self_attn.q_proj.weight`
    /// → `blk.3.attn_q.weight`), or nil if it is not in the tensor table.
    public static func ggufName(huggingFace name: String) -> String? {
        if let global = GlobalTensor.all.first(where: { $0.huggingFace == name }) { return global.gguf }
        let prefix = "model.layers."
        guard name.hasPrefix(prefix) else { return nil }
        let tail = name.dropFirst(prefix.count)
        guard let dot = tail.firstIndex(of: "."), let layer = Int(tail[..<dot]), layer >= 0,
            String(layer) == tail[..<dot],
            let tensor = LayerTensor.of(huggingFace: String(tail[tail.index(after: dot)...]))
        else { return nil }
        return tensor.part.name(layer: layer, kind: tensor.kind)
    }

    /// The Hugging Face name of the GGUF tensor `name`, or nil if it is not in the tensor table.
    public static func huggingFaceName(gguf name: String) -> String? {
        if let global = GlobalTensor.all.first(where: { $0.gguf == name }) { return global.huggingFace }
        guard let (layer, part, kind) = LlamaTensorNames.parse(name), let tensor = LayerTensor.of(part, kind) else {
            return nil
        }
        return "model.layers.\(layer).\(tensor.huggingFace)"
    }

    /// Whether `name` is a non-weight buffer some older checkpoints store
    /// (`model.layers.N.self_attn.rotary_emb.inv_freq`), which readers skip.
    public static func isIgnoredBuffer(_ name: String) -> Bool {
        name.hasPrefix("model.layers.") && name.hasSuffix(".self_attn.rotary_emb.inv_freq")
    }
}
