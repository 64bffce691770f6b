import Tokenization

/// Writes a `Model` as a Hugging Face LLaMA directory that `transformers` loads:
/// `model.safetensors` (or shards with an index), `config.json`, `tokenizer.json`,
/// `tokenizer_config.json` and `generation_config.json`.
///
/// Tensors are renamed to Hugging Face convention and `attn_q`/`attn_k` rows permuted back to
/// Hugging Face order. Everything is written into a temporary sibling directory that is renamed
/// into place at the end, so the destination appears complete or not at all.
public enum HuggingFaceModelWriter {
    /// Writes `model` to the new directory `directory` (which must not exist; its parent must),
    /// storing weights as `type`. `metadata` goes into each safetensors header's `__metadata__`
    /// (Shears records provenance there), together with `format: pt`, which `transformers`
    /// requires.
    ///
    /// - Throws: `ModelIOError` if `directory` exists, a tensor has no Hugging Face name, or a
    ///   file cannot be written.
    public static func write(
        _ model: Model, to directory: String, type: SafetensorsDType, metadata: [String: String],
        maxShardSize: Int = SafetensorsWriter.defaultMaxShardSize
    ) throws(ModelIOError) {
        if HuggingFaceModelFiles.exists(directory) {
            throw ModelIOError(path: directory, "already exists; refusing to write the model into it")
        }
        try HuggingFaceConfig.requireExpressible(model.config, path: directory)
        guard let descriptor = ArchitectureDescriptor.forHuggingFace(model.config) else {
            throw ModelIOError(
                path: directory, item: "architectures",
                "no architecture with a config.json form fits this model ("
                    + ArchitectureDescriptor.supportedList(\.huggingFaceArchitecture) + "); write a .gguf file instead")
        }
        if let bias = model.tensorNames.first(where: {
            LlamaTensorNames.parse($0).map { $0.kind == .bias && $0.part.takesOutputBias } ?? false
        }) {
            throw ModelIOError(
                path: directory, item: bias,
                "config.json cannot express a bias on o_proj or down_proj alone (attention_bias and mlp_bias add biases to every projection); write a .gguf file instead"
            )
        }
        var hfTensors: [Tensor] = []
        for var tensor in model.tensors {
            guard let hfName = ArchitectureDescriptor.huggingFaceName(gguf: tensor.name) else {
                throw ModelIOError(path: model.sourcePath, item: tensor.name, "tensor has no Hugging Face LLaMA name")
            }
            tensor = HuggingFaceRotaryPermutation.convert(tensor, config: model.config, toGGUF: false)
            tensor.name = hfName
            hfTensors.append(tensor)
        }
        let vocabulary = model.tokenizer.vocabulary
        guard !vocabulary.kind.isSentencePiece else {
            throw ModelIOError(
                path: directory, item: HuggingFaceModelFiles.tokenizer,
                "writing a SentencePiece tokenizer to a Hugging Face directory is not supported yet; write GGUF instead"
            )
        }
        let tokenizerJSON = vocabulary.huggingFaceJSON()
        guard !tokenizerJSON.isEmpty else {
            throw ModelIOError(
                path: directory, item: HuggingFaceModelFiles.tokenizer,
                "the tokenizer could not be rendered as tokenizer.json")
        }
        let config = HuggingFaceConfig(
            llama: model.config, descriptor: descriptor,
            torchDType: type.torchName,
            bosTokenID: vocabulary.bosID.map(Int.init), eosTokenIDs: vocabulary.eosID.map { [Int($0)] } ?? [],
            padTokenID: vocabulary.paddingID.map(Int.init)
        )
        let chatTemplate = model.metadata["tokenizer.chat_template"]?.string
        var headerMetadata = metadata
        headerMetadata["format"] = "pt"

        let temporary = try HuggingFaceModelFiles.makeTemporarySibling(of: directory)
        do throws(ModelIOError) {
            try SafetensorsWriter.writeCheckpoint(
                hfTensors, type: type, metadata: headerMetadata,
                directory: temporary, maxShardSize: maxShardSize)
            let files: [(String, [UInt8])] = [
                (HuggingFaceModelFiles.config, config.json()),
                (HuggingFaceModelFiles.tokenizer, tokenizerJSON),
                (
                    HuggingFaceModelFiles.tokenizerConfig,
                    HuggingFaceTokenizerSettings.json(
                        vocabulary: vocabulary, modelMaxLength: model.config.contextLength, chatTemplate: chatTemplate)
                ),
                (
                    HuggingFaceModelFiles.generationConfig,
                    HuggingFaceTokenizerSettings.generationConfigJSON(vocabulary: vocabulary)
                ),
            ]
            for (name, bytes) in files {
                try AtomicOutputFile.write(bytes, to: temporary + "/" + name)
            }
            try HuggingFaceModelFiles.moveIntoPlace(temporary, directory)
        } catch {
            HuggingFaceModelFiles.removeTemporary(temporary)
            throw error
        }
    }
}
