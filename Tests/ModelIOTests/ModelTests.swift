import Foundation
import ModelIO
import TestSupport
import Testing
import Tokenization

/// `Model` validation, GGUF model reading and format detection.
@Suite("Model")
struct ModelTests {
    static func make(_ edit: (inout [Tensor]) -> Void) throws -> Model {
        let config = TinyModel.config
        var tensors = TinyModel.tensors(config, seed: 3)
        edit(&tensors)
        let vocabulary = TinyModel.vocabulary(size: config.vocabSize)
        return try Model(
            config: config, tensors: tensors, metadata: TinyModel.metadata(config, vocabulary),
            tokenizer: try Tokenizer(vocabulary: vocabulary), sourcePath: "tiny")
    }

    @Test(
        "a non-finite weight is refused, naming the tensor and element", arguments: [Float.nan, .infinity, -.infinity])
    func nonFinite(value: Float) throws {
        let error = try #require(throws: ModelIOError.self) {
            try Self.make { tensors in tensors[5].storage.buffer[17] = value }
        }
        #expect(error.item == TinyModel.tensors(TinyModel.config, seed: 3)[5].name)
        #expect(error.message.contains("element 17"))
    }

    @Test("a missing tensor or a wrong shape is refused")
    func missingOrMisshaped() throws {
        let missing = try #require(throws: ModelIOError.self) {
            try Self.make { tensors in tensors.removeAll { $0.name == "blk.1.ffn_up.weight" } }
        }
        #expect(missing.item == "blk.1.ffn_up.weight" && missing.message.contains("missing"))
        let misshaped = try #require(throws: ModelIOError.self) {
            try Self.make { tensors in
                let index = tensors.firstIndex { $0.name == "blk.0.attn_k.weight" }!
                tensors[index] = Tensor(name: "blk.0.attn_k.weight", shape: [8, 8], storage: TensorStorage(zeros: 64))
            }
        }
        #expect(misshaped.item == "blk.0.attn_k.weight" && misshaped.message.contains("shape"))
    }

    @Test(
        "firstNonFiniteIndex finds the first bad element at every position", arguments: [0, 1, 15, 16, 17, 31, 32, 99])
    func scan(position: Int) {
        let storage = TensorStorage(zeros: 100)
        #expect(storage.firstNonFiniteIndex() == nil)
        storage.buffer[position] = .nan
        storage.buffer[99] = .infinity
        #expect(storage.firstNonFiniteIndex() == position)
    }

    @Test("GGUF metadata of another architecture is refused by name")
    func architecture() throws {
        var metadata = TinyModel.metadata(TinyModel.config, TinyModel.vocabulary(size: 300))
        metadata["general.architecture"] = .string("gpt2")
        let error = try #require(throws: ModelIOError.self) {
            try GGUFModelReader.config(from: metadata, path: "m.gguf")
        }
        #expect(error.message.contains("'gpt2' is not supported"))
    }

    @Test("a tiny model written as GGUF reads back identically, tied output detected")
    func ggufRoundTrip() throws {
        let directory = try TemporaryDirectory()
        var config = TinyModel.config
        config.tiedEmbedding = true
        let model = try TinyModel.make(config, seed: 5)
        let path = directory.path("tied.gguf")
        try ModelWriter.write(model, to: path, type: .f32, annotations: ["note": "test"])
        let loaded = try ModelLoader.load(path: path)
        #expect(loaded.config == config)
        #expect(loaded.metadata["shears.note"] == .string("test"))
        for tensor in model.tensors {
            #expect(loaded.tensor(tensor.name)?.storage.array == tensor.storage.array, "\(tensor.name)")
        }
        #expect(try ModelFormat.detect(path: path) == .gguf)
        #expect(ModelFormat.forOutput(path: "x.GGUF") == .gguf && ModelFormat.forOutput(path: "dir") == .safetensors)
    }
}
