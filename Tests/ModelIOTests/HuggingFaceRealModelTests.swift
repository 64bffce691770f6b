import Foundation
import ModelIO
import TestSupport
import Testing
import Tokenization

/// SmolLM2-135M converted GGUF → Hugging Face directory, then run by `transformers`: the logits
/// must equal the shared reference (computed by transformers from the same dequantized weights
/// in Hugging Face layout), which holds only if names, q/k permutation and config are right.
@Suite("SmolLM2 as a Hugging Face directory", .serialized)
struct HuggingFaceRealModelTests {
    /// The GGUF model as a `Model` (dequantized to Float32).
    static func loadGGUF() throws -> Model {
        let file = try GGUFFile(path: ReferenceData.modelPath)
        let metadata = file.metadata
        func int(_ key: String) throws -> Int { try #require(metadata["llama." + key]?.int, "\(key)") }
        func float(_ key: String) throws -> Float { Float(try #require(metadata["llama." + key]?.double, "\(key)")) }
        let tensors = try file.loadAllTensors()
        let config = LlamaConfig(
            layerCount: try int("block_count"), hiddenSize: try int("embedding_length"),
            headCount: try int("attention.head_count"), kvHeadCount: try int("attention.head_count_kv"),
            ffnSize: try int("feed_forward_length"),
            vocabSize: tensors.first { $0.name == LlamaTensorNames.tokenEmbedding }!.rows,
            contextLength: try int("context_length"), ropeTheta: try float("rope.freq_base"),
            rmsNormEpsilon: try float("attention.layer_norm_rms_epsilon"),
            tiedEmbedding: !tensors.contains { $0.name == LlamaTensorNames.output }
        )
        return try Model(
            config: config, tensors: tensors, metadata: metadata,
            tokenizer: try Tokenizer(gguf: metadata, path: ReferenceData.modelPath), sourcePath: ReferenceData.modelPath
        )
    }

    @Test(
        "written as F32, transformers reproduces the reference logits, and it reads back bit-identical",
        .enabled(if: ReferenceData.hasModel && ReferenceData.hasData && HuggingFaceCrossCheck.hasTorch))
    func smolLM2() throws {
        let model = try Self.loadGGUF()
        let parent = try SafetensorsTestFiles.makeDirectory()
        defer { SafetensorsTestFiles.remove(parent) }
        let directory = parent + "/SmolLM2-135M-Instruct"
        let start = Date()
        try HuggingFaceModelWriter.write(
            model, to: directory, type: .f32, metadata: ["shears.source": "SmolLM2 Q4_1 GGUF"])
        let writeSeconds = Date().timeIntervalSince(start)

        let ids = Array(try ReferenceData.int32s("wikitext2-test.smollm2-ids.i32").prefix(8))
        let summary = try HuggingFaceCrossCheck.summary(of: directory, logitIDs: ids)
        let forward = try #require(summary["model"] as? [String: Any])
        #expect(forward["error"] == nil, "\(forward["error"] ?? "")")
        let logits = try #require(forward["logits"] as? [[Double]])
        let reference = [13.33038, 3.09441, 5.97716, 1.79875]
        print("transformers logits at position 0, ids 0...3: \(logits[0]) (reference \(reference))")
        for (value, expected) in zip(logits[0], reference) {
            #expect(abs(value - expected) < 2e-3, "logit \(value) vs reference \(expected)")
        }
        #expect(forward["argmax"] as? [Int] == [29, 216, 506, 30, 1491, 198, 216, 33])
        let tokenizer = try #require(summary["tokenizer"] as? [String: Any])
        let text = try #require(tokenizer["sample_text"] as? String)
        #expect((tokenizer["ids"] as? [Int])?.map(Int32.init) == model.tokenizer.encode(text))

        // Negative control: the same weights with q/k rows left in GGUF order must not match.
        let control = parent + "/unpermuted"
        try FileManager.default.createDirectory(atPath: control, withIntermediateDirectories: false)
        for name in try FileManager.default.contentsOfDirectory(atPath: directory) where name != "model.safetensors" {
            try FileManager.default.copyItem(atPath: directory + "/" + name, toPath: control + "/" + name)
        }
        let unpermuted = try SafetensorsFile(path: directory + "/model.safetensors").tensors().map { tensor in
            guard let ggufName = ArchitectureDescriptor.ggufName(huggingFace: tensor.name),
                ggufName.hasSuffix("attn_q.weight") || ggufName.hasSuffix("attn_k.weight")
            else { return tensor }
            let heads =
                ggufName.hasSuffix("attn_q.weight")
                ? model.config.layers[0].headCount : model.config.layers[0].kvHeadCount
            return HuggingFaceRotaryPermutation.toGGUF(tensor, heads: heads)
        }
        try SafetensorsWriter.write(
            unpermuted, type: .f32, metadata: ["format": "pt"], to: control + "/model.safetensors")
        let wrong = try #require(
            try HuggingFaceCrossCheck.summary(of: control, logitIDs: ids)["model"] as? [String: Any])
        let wrongLogits = try #require(wrong["logits"] as? [[Double]])
        let largestDifference = zip(wrongLogits.joined(), logits.joined()).map { abs($0 - $1) }.max() ?? 0
        print("logit difference with q/k rows left in GGUF order: \(largestDifference)")
        #expect(largestDifference > 0.1)

        let readStart = Date()
        let read = try HuggingFaceModelReader.load(directory: directory)
        let readSeconds = Date().timeIntervalSince(readStart)
        print(
            "SmolLM2 F32 HF directory: write \(String(format: "%.2f", writeSeconds)) s, read \(String(format: "%.2f", readSeconds)) s"
        )
        #expect(read.config == model.config)
        for tensor in model.tensors {
            let same =
                read.tensor(tensor.name)?.storage.array.map(\.bitPattern) == tensor.storage.array.map(\.bitPattern)
            #expect(same, "\(tensor.name)")
        }
        #expect(read.tokenizer.vocabulary.tokens == model.tokenizer.vocabulary.tokens)
        #expect(read.tokenizer.vocabulary.merges == model.tokenizer.vocabulary.merges)
        #expect(read.tokenizer.encode(text) == model.tokenizer.encode(text))
        #expect(model.metadata["tokenizer.chat_template"] != nil)
        #expect(read.metadata["tokenizer.chat_template"] == model.metadata["tokenizer.chat_template"])
        #expect(read.tokenizer.vocabulary.bosID == model.tokenizer.vocabulary.bosID)
        #expect(read.tokenizer.vocabulary.eosID == model.tokenizer.vocabulary.eosID)
    }
}
