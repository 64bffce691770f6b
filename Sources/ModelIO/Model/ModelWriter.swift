import Foundation

/// Element types a model can be written with.
public enum OutputType: String, Sendable, CaseIterable, CustomStringConvertible {
    case f32, f16, bf16, q8_0, q5_0, q4_0

    /// The name used on the command line and in recipes.
    public var description: String { rawValue }

    /// The GGML type of the linear matrices and embeddings.
    public var ggmlType: GGMLType {
        switch self {
        case .f32: .f32
        case .f16: .f16
        case .bf16: .bf16
        case .q8_0: .q8_0
        case .q5_0: .q5_0
        case .q4_0: .q4_0
        }
    }

    /// llama.cpp's `general.file_type` value (`LLAMA_FTYPE_ALL_F32`, `MOSTLY_F16`, ...).
    var llamaFileType: UInt32 {
        switch self {
        case .f32: 0
        case .f16: 1
        case .q8_0: 7
        case .q5_0: 8
        case .q4_0: 2
        case .bf16: 32
        }
    }
}

/// Writes a `Model` as GGUF or as a Hugging Face safetensors directory.
public enum ModelWriter {
    /// Writes `model` to `path`: a `.gguf` path gives a GGUF file, any other a Hugging Face
    /// directory. `annotations` are stored as `shears.<key>` metadata (GGUF) or in the
    /// safetensors `__metadata__`.
    ///
    /// Vectors (norm weights) are always written as F32, as llama.cpp does. In GGUF with `q8_0`,
    /// `q5_0` or `q4_0`, a matrix whose rows are not a multiple of 32 elements is written as F16.
    ///
    /// - Throws: `ModelIOError` when `path` is the model's own source, the type does not exist in
    ///   the format, or writing fails. Nothing is left behind on failure.
    public static func write(
        _ model: Model, to path: String, type: OutputType, annotations: [String: String] = [:]
    ) throws(ModelIOError) {
        if sameFile(path, model.sourcePath) {
            throw ModelIOError(path: path, "refusing to overwrite the input model; choose another output path")
        }
        switch ModelFormat.forOutput(path: path) {
        case .gguf:
            try writeGGUF(model, to: path, type: type, annotations: annotations)
        case .safetensors:
            let dtype: SafetensorsDType
            switch type {
            case .f32: dtype = .f32
            case .f16: dtype = .f16
            case .bf16: dtype = .bf16
            case .q8_0, .q5_0, .q4_0:
                throw ModelIOError(
                    path: path,
                    "safetensors has no \(type.ggmlType.name) type; use f32, f16 or bf16, or a .gguf output")
            }
            // Provenance recorded in the model (e.g. by a prune) travels with the file too.
            var metadata = annotations
            for (key, value) in model.metadata where key.hasPrefix("shears.") {
                if let text = value.string, metadata[String(key.dropFirst(7))] == nil {
                    metadata[String(key.dropFirst(7))] = text
                }
            }
            try HuggingFaceModelWriter.write(model, to: path, type: dtype, metadata: metadata)
        }
    }

    private static func writeGGUF(
        _ model: Model, to path: String, type: OutputType, annotations: [String: String]
    ) throws(ModelIOError) {
        try GGUFArchitectureKeys.requireLlamaCppRuns(model.config, path: path)
        let (config, tensors) = llamaCppLayout(model)
        var metadata = GGUFArchitectureKeys.apply(config, to: model.metadata)
        let reorder = ArchitectureDescriptor.forGGUF(config).ggufRowOrder == .huggingFace
        metadata["general.file_type"] = .uint32(type.llamaFileType)
        for (key, value) in annotations.sorted(by: { $0.key < $1.key }) {
            metadata["shears.\(key)"] = .string(value)
        }
        var entries = tensors.map { tensor in
            GGUFWriter.Entry(tensor: tensor, type: storedType(of: tensor, requested: type.ggmlType))
        }
        switch config.ropeScaling {
        case .none, .linear, .yarn: break // no tensor: these scalings are metadata keys
        case .llama3, .frequencyFactors:
            // First, where llama.cpp's converter puts it.
            let divisors = config.ropeScaling.divisors(headDim: config.headDim, base: config.ropeTheta) ?? []
            let factors = Tensor(
                name: LlamaTensorNames.ropeFrequencies, shape: [divisors.count], storage: TensorStorage(divisors))
            entries.insert(GGUFWriter.Entry(tensor: factors, type: .f32), at: 0)
        }
        // Each tensor is read (a streamed one decoded), reordered and written in turn.
        try GGUFWriter.write(metadata: metadata, tensors: entries, to: path) { tensor in
            reorder ? HuggingFaceRotaryPermutation.convert(tensor, config: config, toGGUF: false) : tensor
        }
    }

    /// The configuration and tensors to write for llama.cpp, whose `deci` graph cannot run two
    /// kinds of layer that a pruned model may have. A layer whose FFN width is 0 is skipped whole
    /// (its attention output too), and llama-perplexity aborts when that layer is the last; so
    /// every layer without an FFN is written with an FFN of width 1 whose matrices are zero. And
    /// the head size comes from layer 0's head count, so a layer 0 without attention is written
    /// with one query and one KV head whose output projection is zero. Both add exactly nothing,
    /// as the missing sub-blocks do.
    static func llamaCppLayout(_ model: Model) -> (LlamaConfig, [Tensor]) {
        typealias Part = LlamaTensorNames.Layer
        var config = model.config
        var tensors = model.tensors
        let hidden = config.hiddenSize
        func zeros(_ part: Part, _ layer: Int) -> Tensor {
            let shape = part.shape(config, layer: layer)
            return Tensor(
                name: part.name(layer: layer), shape: shape, storage: TensorStorage(zeros: shape.reduce(1, *)))
        }
        func ones(_ part: Part, _ layer: Int) -> Tensor {
            Tensor(
                name: part.name(layer: layer), shape: [hidden],
                storage: TensorStorage([Float](repeating: 1, count: hidden)))
        }
        /// Inserts `padding` among layer `layer`'s tensors: before its first FFN tensor for
        /// attention, after its last tensor for an FFN (llama.cpp's converter order).
        func insert(_ padding: [Tensor], layer: Int, beforeFFN: Bool) {
            let position: Int
            if beforeFFN, let first = tensors.firstIndex(where: { LlamaTensorNames.parse($0.name)?.layer == layer }) {
                position = first
            } else if let last = tensors.lastIndex(where: { LlamaTensorNames.parse($0.name)?.layer == layer }) {
                position = last + 1
            } else {
                // A layer with no tensors: after the previous layer's (or the embedding).
                let previous = tensors.lastIndex {
                    (LlamaTensorNames.parse($0.name)?.layer ?? -1) < layer
                        && ($0.name == LlamaTensorNames.tokenEmbedding || LlamaTensorNames.parse($0.name) != nil)
                }
                position = (previous ?? -1) + 1
            }
            tensors.insert(contentsOf: padding, at: position)
        }
        if !config.layers[0].hasAttention {
            config.layers[0].headCount = 1
            config.layers[0].kvHeadCount = 1
            insert(
                [ones(.attentionNorm, 0)] + [Part.query, .key, .value, .attentionOutput].map { zeros($0, 0) },
                layer: 0, beforeFFN: true)
        }
        for layer in 0..<config.layerCount where !config.layers[layer].hasFFN {
            config.layers[layer].ffnSize = 1
            insert(
                [ones(.ffnNorm, layer)] + [Part.gate, .up, .down].map { zeros($0, layer) }, layer: layer,
                beforeFFN: false)
        }
        return (config, tensors)
    }

    /// What llama.cpp will do differently with `model` written as GGUF to `path`, for a one-line
    /// note (nil when nothing, or when `path` is not GGUF): its `llama`/`deci` graphs have no
    /// sliding-window attention.
    public static func llamaCppCaveat(_ model: Model, path: String) -> String? {
        guard ModelFormat.forOutput(path: path) == .gguf, let window = model.config.slidingWindow else { return nil }
        return "llama.cpp runs \(path) without its sliding window (full attention): it matches Shears only on "
            + "sequences of at most \(window) tokens"
    }

    /// The type a tensor is stored as when `requested` is asked for.
    public static func storedType(of tensor: Tensor, requested: GGMLType) -> GGMLType {
        storedType(shape: tensor.shape, requested: requested)
    }

    /// The type a tensor of row-major `shape` is stored as when `requested` is asked for: F32 for
    /// a vector, F16 for a matrix whose rows are not a multiple of the type's block size.
    public static func storedType(shape: [Int], requested: GGMLType) -> GGMLType {
        if shape.count < 2 { return .f32 }
        if shape.dropFirst().reduce(1, *) % requested.blockSize != 0 { return .f16 }
        return requested
    }

    /// Whether two paths name the same existing file (following links).
    private static func sameFile(_ a: String, _ b: String) -> Bool {
        let resolvedA = URL(fileURLWithPath: a).resolvingSymlinksInPath().standardizedFileURL.path
        let resolvedB = URL(fileURLWithPath: b).resolvingSymlinksInPath().standardizedFileURL.path
        return resolvedA == resolvedB
    }
}
