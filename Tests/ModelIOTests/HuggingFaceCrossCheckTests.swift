import Foundation
import ModelIO
import TestSupport
import Testing
import Tokenization

@Suite("Hugging Face directories checked by the Python reference libraries")
struct HuggingFaceCrossCheckTests {
    @Test(
        "safetensors, transformers' AutoConfig and AutoTokenizer read a written TinyModel as we do",
        .enabled(if: HuggingFaceCrossCheck.available), arguments: [SafetensorsDType.f32, .bf16])
    func tinyModel(type: SafetensorsDType) throws {
        let parent = try SafetensorsTestFiles.makeDirectory()
        defer { SafetensorsTestFiles.remove(parent) }
        let model = try TinyModel.make(seed: 9)
        let directory = parent + "/tiny"
        try HuggingFaceModelWriter.write(
            model, to: directory, type: type, metadata: ["shears.test": "cross-check"],
            maxShardSize: type == .bf16 ? 30_000 : SafetensorsWriter.defaultMaxShardSize)
        let summary = try HuggingFaceCrossCheck.summary(of: directory, logitIDs: [1, 2, 3])

        let safetensors = try #require(summary["safetensors"] as? [String: Any])
        #expect(safetensors["metadata"] as? [String: String] == ["format": "pt", "shears.test": "cross-check"])
        #expect((safetensors["files"] as? [String])?.count == (type == .bf16 ? 3 : 1))
        let tensors = try #require(safetensors["tensors"] as? [String: [String: Any]])
        let checkpoint = try SafetensorsCheckpoint(directory: directory)
        #expect(Set(tensors.keys) == Set(checkpoint.tensorNames))
        #expect(tensors.count == model.tensors.count)
        for name in checkpoint.tensorNames {
            let ours = try checkpoint.tensor(name)
            let theirs = try #require(tensors[name])
            #expect(theirs["dtype"] as? String == type.rawValue)
            #expect(theirs["shape"] as? [Int] == ours.shape)
            let sum = ours.storage.array.reduce(0.0) { $0 + Double($1) }
            let theirSum = try #require(theirs["sum"] as? Double)
            #expect(abs(theirSum - sum) <= 1e-9 * max(1, abs(sum)), "\(name)")
            #expect((theirs["head"] as? [Double])?.map(Float.init) == Array(ours.storage.array.prefix(4)), "\(name)")
        }

        guard let config = summary["config"] as? [String: Any] else {
            if HuggingFaceCrossCheck.transformersRequired { Issue.record("transformers is not importable") }
            return
        }
        #expect(config["error"] == nil, "\(config["error"] ?? "")")
        #expect(config["hidden_size"] as? Int == model.config.hiddenSize)
        #expect(config["num_hidden_layers"] as? Int == model.config.layerCount)
        #expect(config["num_key_value_heads"] as? Int == model.config.layers[0].kvHeadCount)
        #expect(config["head_dim"] as? Int == model.config.headDim)
        #expect(config["intermediate_size"] as? Int == model.config.layers[0].ffnSize)
        #expect(config["vocab_size"] as? Int == model.config.vocabSize)
        #expect(config["tie_word_embeddings"] as? Bool == model.config.tiedEmbedding)
        #expect((config["rope_theta"] as? Double).map(Float.init) == model.config.ropeTheta)
        #expect((config["rms_norm_eps"] as? Double).map(Float.init) == model.config.rmsNormEpsilon)

        let tokenizer = try #require(summary["tokenizer"] as? [String: Any])
        #expect(tokenizer["error"] == nil, "\(tokenizer["error"] ?? "")")
        #expect(tokenizer["vocab_size"] as? Int == model.tokenizer.vocabularySize)
        #expect(tokenizer["eos_token"] as? String == "<|endoftext|>")
        let text = try #require(tokenizer["sample_text"] as? String)
        #expect((tokenizer["ids"] as? [Int])?.map(Int32.init) == model.tokenizer.encode(text))

        guard let forward = summary["model"] as? [String: Any] else {
            if HuggingFaceCrossCheck.transformersRequired { Issue.record("torch is not importable") }
            return
        }
        #expect(forward["error"] == nil, "\(forward["error"] ?? "")")
        let logits = try #require(forward["logits"] as? [[Double]])
        #expect(logits.count == 3 && logits.allSatisfy { $0.count == 4 && $0.allSatisfy(\.isFinite) })
    }

    @Test(
        "a directory saved by transformers itself (save_pretrained) loads back to the same model",
        .enabled(if: HuggingFaceCrossCheck.hasTorch))
    func transformersWritten() throws {
        let parent = try SafetensorsTestFiles.makeDirectory()
        defer { SafetensorsTestFiles.remove(parent) }
        var config = TinyModel.config
        config.tiedEmbedding = true
        let model = try TinyModel.make(config, seed: 21)
        try HuggingFaceModelWriter.write(model, to: parent + "/ours", type: .f32, metadata: [:])
        let summary = try HuggingFaceCrossCheck.summary(of: parent + "/ours", resaveDirectory: parent + "/theirs")
        let resaved = try #require(summary["resaved"] as? [String: Any])
        #expect(resaved["error"] == nil, "\(resaved["error"] ?? "")")

        let read = try HuggingFaceModelReader.load(directory: parent + "/theirs")
        #expect(read.config == model.config)
        for tensor in model.tensors {
            let same =
                read.tensor(tensor.name)?.storage.array.map(\.bitPattern) == tensor.storage.array.map(\.bitPattern)
            #expect(same, "\(tensor.name)")
        }
        let (vocabulary, reference) = (read.tokenizer.vocabulary, model.tokenizer.vocabulary)
        #expect(vocabulary.tokens == reference.tokens)
        #expect(
            vocabulary.bosID == reference.bosID && vocabulary.eosID == reference.eosID
                && vocabulary.addBOS == reference.addBOS)
        #expect(
            read.tokenizer.encode("the theory of other things") == model.tokenizer.encode("the theory of other things"))
    }
}
