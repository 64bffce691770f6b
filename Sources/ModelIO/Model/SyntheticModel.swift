import SeededRandom
import Tokenization

/// Writes random LLaMA-family models of any shape (`shears synth`), for benchmarks and tests.
///
/// The file is streamed through `GGUFStreamWriter`: the header first, then each tensor generated
/// and encoded a chunk of rows at a time, so memory stays at one chunk whatever the model's size.
/// Every chunk has its own seed derived from the model seed, the tensor's index and the chunk's
/// index, so the bytes depend on the seed alone.
///
/// Values are uniform with the variance of a scaled initialisation, so activations stay finite
/// and logits have a spread of about 1 (neither flat nor one-hot): norms are 1; a linear matrix has
/// variance 1/fan-in, divided by 2·layers for the two that write into the residual stream
/// (`attn_output`, `ffn_down`); the untied embedding has variance 1, a tied one and the output
/// projection 1/hidden; q/k/v biases (Qwen2) have deviation 0.1. The tokenizer is
/// `BPEVocabulary.byteLevel(size:)`.
package enum SyntheticModel {
    /// Rows are generated and encoded about this many elements at a time.
    private static let elementsPerChunk = 1 << 20

    /// Writes a random model of `config`, its matrices stored as `type` (norms F32; a matrix whose
    /// rows are not a multiple of the block size as F16, as `ModelWriter` does), to `path`
    /// (replaced if it exists). `annotations` become `shears.<key>` metadata strings.
    ///
    /// - Returns: the tensors written, in file order.
    /// - Throws: `ModelIOError` when `config` is invalid, its vocabulary is smaller than 257
    ///   tokens, or writing fails; nothing is left at `path` then.
    @discardableResult
    package static func write(
        config: LlamaConfig, type: OutputType, seed: UInt64, name: String, annotations: [String: String] = [:],
        to path: String
    ) throws(ModelIOError) -> [GGUFTensorInfo] {
        try config.validate(path: path)
        guard config.vocabSize >= 257 else {
            throw ModelIOError(path: path, item: "vocab", "a byte-level tokenizer needs at least 257 tokens")
        }
        let vocabulary = BPEVocabulary.byteLevel(size: config.vocabSize)
        var metadata = GGUFArchitectureKeys.apply(
            config,
            to: HuggingFaceMetadata.gguf(config: config, vocabulary: vocabulary, name: name, chatTemplate: nil))
        metadata["general.file_type"] = .uint32(type.llamaFileType)
        for (key, value) in annotations.sorted(by: { $0.key < $1.key }) {
            metadata["shears.\(key)"] = .string(value)
        }
        let slots = LlamaTensorNames.expected(config).map { name, shape in
            GGUFStreamWriter.Slot(
                name: name, shape: shape, type: ModelWriter.storedType(shape: shape, requested: type.ggmlType))
        }
        let writer = try GGUFStreamWriter(path: path, metadata: metadata, tensors: slots)

        let largestChunk =
            slots.map { slot in
                let row = slot.shape.last!
                return min(slot.shape.reduce(1, *), max(1, elementsPerChunk / row) * row)
            }.max() ?? 0
        let buffer = UnsafeMutableBufferPointer<Float>.allocate(capacity: largestChunk)
        defer { buffer.deallocate() }
        for (index, slot) in slots.enumerated() {
            let row = slot.shape.last!, count = slot.shape.reduce(1, *)
            let chunk = max(1, elementsPerChunk / row) * row
            let deviation = standardDeviation(of: slot.name, config: config)
            var start = 0, chunkIndex: UInt64 = 0
            while start < count {
                let piece = UnsafeMutableBufferPointer(rebasing: buffer[0..<min(chunk, count - start)])
                if let deviation {
                    var generator = ChunkGenerator(seed: seed, tensor: UInt64(index), chunk: chunkIndex)
                    generator.fillUniform(piece, halfWidth: deviation * Float(3).squareRoot())
                } else {
                    piece.update(repeating: 1)
                }
                try writer.append(UnsafeBufferPointer(piece))
                start += piece.count
                chunkIndex += 1
            }
        }
        try writer.commit()
        return writer.infos
    }

    /// The standard deviation of a tensor's values; nil for a norm (all ones).
    static func standardDeviation(of name: String, config: LlamaConfig) -> Float? {
        let hidden = Float(config.hiddenSize)
        switch name {
        case LlamaTensorNames.tokenEmbedding: return config.tiedEmbedding ? 1 / hidden.squareRoot() : 1
        case LlamaTensorNames.output: return 1 / hidden.squareRoot()
        case LlamaTensorNames.outputNorm: return nil
        default:
            guard let (layer, part, kind) = LlamaTensorNames.parse(name), part.isLinear else { return nil }
            if kind == .bias { return 0.1 } // Qwen2's q/k/v biases: small beside unit-scale q/k/v
            guard kind == .weight else { return nil }
            let fanIn = Float(part.shape(config, layer: layer)[1])
            let residual: Float = part == .attentionOutput || part == .down ? 2 * Float(config.layerCount) : 1
            return 1 / (fanIn * residual).squareRoot()
        }
    }
}

/// The values of one chunk: `SplitMix64` seeded from (model seed, tensor, chunk), two 24-bit
/// uniforms per 64-bit draw.
private struct ChunkGenerator {
    private var random: SplitMix64

    init(seed: UInt64, tensor: UInt64, chunk: UInt64) {
        var mixer = SplitMix64(seed: seed)
        var mixed = SplitMix64(seed: mixer.next() ^ tensor)
        random = SplitMix64(seed: mixed.next() ^ chunk)
    }

    /// Fills `values` uniformly in [-halfWidth, halfWidth).
    mutating func fillUniform(_ values: UnsafeMutableBufferPointer<Float>, halfWidth: Float) {
        let scale = 2 * halfWidth / Float(1 << 24)
        var i = 0
        while i < values.count {
            let bits = random.next()
            values[i] = Float(bits >> 40) * scale - halfWidth
            if i + 1 < values.count { values[i + 1] = Float((bits >> 8) & 0xFF_FFFF) * scale - halfWidth }
            i += 2
        }
    }
}
