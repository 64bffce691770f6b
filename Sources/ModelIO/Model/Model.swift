import Foundation
import Tokenization

/// A LLaMA-family model as dense Float32 tensors, with its tokenizer.
///
/// A resident model holds every tensor in memory. A streamed one (`ModelResidency.streamed`, GGUF
/// input) leaves its matrices encoded in the mapped file and decodes each when it is read, through
/// a `TensorCache` of about one layer; `spill(layer:)` moves a pruned layer to a scratch file, so
/// memory stays flat in depth.
///
/// Whatever file it came from, a `Model` uses one convention: GGUF tensor names, row-major
/// `[out, in]` matrices, and `attn_q`/`attn_k` rows in llama.cpp's order (RoPE rotates adjacent
/// pairs). Readers convert into this convention and writers out of it, so the forward pass and
/// the pruning methods see a single layout.
public final class Model: @unchecked Sendable {
    // @unchecked Sendable: tensors are replaced only through `replace(_:)` and surgery
    // (`remove(_:)`), which the pruning engine and recipes call from one thread; readers never
    // mutate.

    /// Architecture hyper-parameters, with every layer's shape (changed only by surgery).
    public internal(set) var config: LlamaConfig
    /// GGUF metadata describing the model (for safetensors input, synthesised from config.json
    /// and tokenizer.json); writers carry it over.
    public var metadata: GGUFMetadata
    /// The tokenizer.
    public let tokenizer: Tokenizer
    /// Where the model was read from.
    public let sourcePath: String
    /// Tensor names in file order.
    public internal(set) var tensorNames: [String]
    var tensorsByName: [String: Tensor]
    /// The cache a streamed model's tensors decode through (nil: resident); set by the reader.
    package internal(set) var cache: TensorCache?
    /// Where `spill(layer:)` creates its scratch file: the system's temporary directory unless set.
    public var scratchDirectory: String = ProcessInfo.processInfo.environment["TMPDIR"] ?? "/tmp"
    /// The scratch file of spilled layers, created by the first `spill(layer:)`.
    private var spillFile: TensorSpillFile?

    /// Whether the tensors are all in memory or decoded from the file when read.
    public var residency: ModelResidency { cache == nil ? .resident : .streamed }

    /// Creates a model after checking that every tensor the architecture needs is present with
    /// the right shape and that no tensor holds NaN or infinity. `descriptor` is the architecture
    /// the file declared, named in errors (by default the one `config` is written as).
    ///
    /// - Throws: `ModelIOError` naming `sourcePath`, the tensor at fault and, for a missing or
    ///   foreign one, the descriptor.
    public init(
        config: LlamaConfig, tensors: [Tensor], metadata: GGUFMetadata, tokenizer: Tokenizer, sourcePath: String,
        descriptor: ArchitectureDescriptor? = nil
    ) throws(ModelIOError) {
        let descriptor = descriptor ?? .forGGUF(config)
        try config.validate(path: sourcePath)
        var byName: [String: Tensor] = [:]
        for tensor in tensors {
            if byName.updateValue(tensor, forKey: tensor.name) != nil {
                throw ModelIOError(path: sourcePath, item: tensor.name, "tensor appears twice")
            }
        }
        for (name, shape) in LlamaTensorNames.expected(config) {
            guard let tensor = byName[name] else {
                throw ModelIOError(
                    path: sourcePath, item: name, "tensor is missing; \(descriptor.requirement(of: name))")
            }
            if tensor.shape != shape {
                throw ModelIOError(
                    path: sourcePath, item: name,
                    "shape \(tensor.shape) does not match the architecture's \(shape)")
            }
        }
        let expected = Set(LlamaTensorNames.expected(config).map(\.name))
        for tensor in tensors {
            if let (layer, part, kind) = LlamaTensorNames.parse(tensor.name), !expected.contains(tensor.name) {
                if kind == .bias, part.takesOutputBias, layer < config.layerCount, part.exists(in: config.layers[layer])
                {
                    guard tensor.shape == [config.hiddenSize] else {
                        throw ModelIOError(
                            path: sourcePath, item: tensor.name,
                            "shape \(tensor.shape) does not match the bias shape [\(config.hiddenSize)]")
                    }
                } else if kind != .weight, layer < config.layerCount, part.exists(in: config.layers[layer]) {
                    throw ModelIOError(
                        path: sourcePath, item: tensor.name,
                        "the \(descriptor.name) descriptor (\(descriptor)) has no "
                            + (kind == .bias ? "q/k/v biases" : "q/k head norms"))
                } else {
                    let what =
                        layer >= config.layerCount
                        ? "the model has \(config.layerCount) layers"
                        : "layer \(layer) has no \(part.isAttention ? "attention" : "FFN") (its head count or FFN width is 0)"
                    throw ModelIOError(
                        path: sourcePath, item: tensor.name, "tensor is not part of the architecture: \(what)")
                }
            } else if tensor.name.hasPrefix("blk."), tensor.name.hasSuffix(".bias"),
                LlamaTensorNames.parse(tensor.name) == nil
            {
                throw ModelIOError(
                    path: sourcePath, item: tensor.name,
                    "this bias is not supported: a layer may only carry q/k/v, attn_output and ffn_down biases")
            }
            // A streamed tensor is decoded a block of rows at a time, neither held nor cached.
            let found =
                tensor.source.map { $0.firstNonFinite(columns: tensor.columns) } ?? tensor.storage.firstNonFinite()
            if let (index, value) = found {
                throw ModelIOError(
                    path: sourcePath, item: tensor.name, "element \(index) is \(value); the weights must be finite")
            }
        }
        if tokenizer.vocabularySize > config.vocabSize {
            throw ModelIOError(
                path: sourcePath, item: "tokenizer",
                "tokenizer has \(tokenizer.vocabularySize) tokens but the embedding only \(config.vocabSize) rows")
        }
        self.config = config
        self.metadata = metadata
        self.tokenizer = tokenizer
        self.sourcePath = sourcePath
        self.tensorNames = tensors.map(\.name)
        self.tensorsByName = byName
    }

    /// The tensor called `name`, if there is one.
    public func tensor(_ name: String) -> Tensor? { tensorsByName[name] }

    /// All tensors in file order.
    public var tensors: [Tensor] { tensorNames.compactMap { tensorsByName[$0] } }

    /// The output projection: `output.weight`, or the token embedding when tied.
    public var outputProjection: Tensor {
        tensorsByName[LlamaTensorNames.output] ?? tensorsByName[LlamaTensorNames.tokenEmbedding]!
    }

    /// Replaces an existing tensor by one of the same name and shape.
    public func replace(_ tensor: Tensor) {
        guard let old = tensorsByName[tensor.name] else { preconditionFailure("no tensor \(tensor.name)") }
        precondition(old.shape == tensor.shape, "shape change for \(tensor.name)")
        tensorsByName[tensor.name] = tensor
    }

    /// Moves layer `layer`'s resident matrices (pruned or otherwise replaced) to the scratch file
    /// in `scratchDirectory` and keeps handles that read them back: a streamed model's pruned
    /// layers then take no memory until the writer reads them. Does nothing for a resident model.
    ///
    /// - Throws: `ModelIOError` naming the directory when the scratch file cannot be created or
    ///   written (a full disk among others); the tensor being moved then stays in memory, unchanged.
    public func spill(layer: Int) throws(ModelIOError) {
        try moveResidentMatrices(of: layer) { tensor throws(ModelIOError) in
            if spillFile == nil { spillFile = try TensorSpillFile(directory: scratchDirectory) }
            let offset = try spillFile!.append(UnsafeBufferPointer(tensor.storage.buffer))
            return .spill(spillFile!, offset: offset)
        }
    }

    /// Like `spill(layer:)`, for a layer whose resident matrices were just saved, exactly, as F32
    /// tensors of the same names and shapes in `file` (a prune journal's layer file): the handles
    /// read them from there, so the layer is not written to disk twice.
    ///
    /// - Throws: `ModelIOError` naming the file when it lacks one of the tensors as F32 of its shape.
    package func spill(layer: Int, savedIn file: SafetensorsFile) throws(ModelIOError) {
        try moveResidentMatrices(of: layer) { tensor throws(ModelIOError) in
            guard let info = file.info(tensor.name), info.dtype == .f32, info.shape == tensor.shape else {
                throw ModelIOError(
                    path: file.path, item: tensor.name, "does not hold this tensor as F32 of shape \(tensor.shape)")
            }
            return .safetensors(file, info)
        }
    }

    /// Replaces each resident matrix of `layer` by a handle on the backing `move` gives it (a
    /// streamed model only).
    private func moveResidentMatrices(
        of layer: Int, _ move: (Tensor) throws(ModelIOError) -> TensorSource.Backing
    ) throws(ModelIOError) {
        guard let cache else { return }
        let prefix = "blk.\(layer)."
        for name in tensorNames where name.hasPrefix(prefix) {
            guard let tensor = tensorsByName[name], tensor.isResident, tensor.shape.count >= 2 else { continue }
            let source = TensorSource(try move(tensor), count: tensor.count, cache: cache)
            tensorsByName[name] = Tensor(name: name, shape: tensor.shape, source: source, sourceType: tensor.sourceType)
        }
    }

    /// Bytes in the scratch file of spilled layers (0 when nothing was spilled).
    public var spilledBytes: Int { spillFile?.byteCount ?? 0 }

    /// Number of parameters in all tensors.
    public var parameterCount: Int { tensorsByName.values.reduce(0) { $0 + $1.count } }
}

/// How a model holds its tensors.
public enum ModelResidency: String, Sendable, CaseIterable {
    /// Every tensor dequantized to Float32 in memory at load.
    case resident
    /// Matrices left encoded in the mapped GGUF file and decoded when read (a layer at a time).
    case streamed
}
