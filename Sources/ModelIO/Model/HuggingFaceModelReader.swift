import Tokenization

/// Loads a Hugging Face LLaMA-family model directory (`config.json`, `model.safetensors` or
/// sharded weights, `tokenizer.json` — or, without it, a SentencePiece `tokenizer.model` —,
/// optional `tokenizer_config.json`) into a `Model`.
///
/// Tensors are renamed to GGUF convention, `q_proj`/`k_proj` rows (and their biases and head
/// norms) are permuted into llama.cpp's order, and GGUF metadata is synthesised as llama.cpp's converter would write it.
public enum HuggingFaceModelReader {
    /// Loads the model in `directory`.
    ///
    /// - Throws: `ModelIOError` naming the file and tensor or key at fault.
    public static func load(directory: String) throws(ModelIOError) -> Model {
        let hfConfig = try HuggingFaceConfig(directory: directory)
        let tensors = try loadTensors(directory: directory, config: hfConfig.llama, descriptor: hfConfig.descriptor)

        var tokenizerPath = directory + "/" + HuggingFaceModelFiles.tokenizer
        let sentencePiecePath = directory + "/" + HuggingFaceModelFiles.sentencePieceModel
        let readsSentencePiece =
            !HuggingFaceModelFiles.exists(tokenizerPath) && HuggingFaceModelFiles.exists(sentencePiecePath)
        if readsSentencePiece { tokenizerPath = sentencePiecePath }
        let tokenizerBytes = try HuggingFaceJSONFile.bytes(tokenizerPath)
        var vocabulary: BPEVocabulary
        do {
            vocabulary =
                readsSentencePiece
                ? try BPEVocabulary(sentencePieceModel: tokenizerBytes)
                : try BPEVocabulary(huggingFaceJSON: tokenizerBytes)
        } catch {
            throw ModelIOError(path: tokenizerPath, error.message)
        }
        let settings = try HuggingFaceTokenizerSettings(directory: directory)
        try settings.apply(
            to: &vocabulary, config: hfConfig, path: directory + "/" + HuggingFaceModelFiles.tokenizerConfig)
        let tokenizer: Tokenizer
        do {
            tokenizer = try Tokenizer(vocabulary: vocabulary)
        } catch {
            throw ModelIOError(path: tokenizerPath, error.message)
        }
        let name = directory.split(separator: "/").last.map(String.init) ?? directory
        let metadata = HuggingFaceMetadata.gguf(
            config: hfConfig.llama, vocabulary: vocabulary, name: name,
            chatTemplate: settings.chatTemplate)
        return try Model(
            config: hfConfig.llama, tensors: tensors, metadata: metadata, tokenizer: tokenizer, sourcePath: directory,
            descriptor: hfConfig.descriptor)
    }

    /// Reads the weights in `directory` for `config` of the architecture `descriptor` as
    /// GGUF-named tensors in `Model`'s row order, in `LlamaTensorNames.expected` order.
    ///
    /// Skips `rotary_emb.inv_freq` buffers and, for a tied model, a stored `lm_head.weight`
    /// (transformers ignores it too).
    /// - Throws: `ModelIOError` for a missing (naming the descriptor that requires it),
    ///   unexpected or mis-shaped tensor (Hugging Face name).
    public static func loadTensors(
        directory: String, config: LlamaConfig, descriptor: ArchitectureDescriptor
    ) throws(ModelIOError) -> [Tensor] {
        let checkpoint = try SafetensorsCheckpoint(directory: directory)
        let expected = LlamaTensorNames.expected(config)
        let shapes = Dictionary(uniqueKeysWithValues: expected.map { ($0.name, $0.shape) })
        var hfNameByGGUF: [String: String] = [:]
        for hfName in checkpoint.tensorNames {
            if ArchitectureDescriptor.isIgnoredBuffer(hfName) { continue }
            if config.tiedEmbedding, ArchitectureDescriptor.ggufName(huggingFace: hfName) == LlamaTensorNames.output {
                continue
            }
            guard let ggufName = ArchitectureDescriptor.ggufName(huggingFace: hfName), let shape = shapes[ggufName]
            else {
                throw ModelIOError(
                    path: directory, item: hfName,
                    "tensor is not part of the \(descriptor.name) architecture (\(descriptor); \(config.layerCount) layers)"
                )
            }
            let info = checkpoint.info(hfName)!
            guard info.shape == shape else {
                throw ModelIOError(
                    path: directory, item: hfName, "shape \(info.shape) does not match config.json's \(shape)")
            }
            hfNameByGGUF[ggufName] = hfName
        }
        var tensors: [Tensor] = []
        tensors.reserveCapacity(expected.count)
        for (ggufName, _) in expected {
            guard let hfName = hfNameByGGUF[ggufName] else {
                let file = checkpoint.files.count == 1 ? checkpoint.files[0].path : directory
                throw ModelIOError(
                    path: file, item: ArchitectureDescriptor.huggingFaceName(gguf: ggufName) ?? ggufName,
                    "tensor is missing; \(descriptor.requirement(of: ggufName))")
            }
            var tensor = try checkpoint.tensor(hfName)
            tensor.name = ggufName
            tensors.append(HuggingFaceRotaryPermutation.convert(tensor, config: config, toGGUF: true))
        }
        return tensors
    }
}
