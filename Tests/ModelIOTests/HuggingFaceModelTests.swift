import Foundation
import ModelIO
import TestSupport
import Testing
import Tokenization

@Suite("Hugging Face model directories")
struct HuggingFaceModelTests {
    static func tinyModel(tied: Bool, seed: UInt64 = 5) throws -> Model {
        var config = TinyModel.config
        config.tiedEmbedding = tied
        return try TinyModel.make(config, seed: seed)
    }

    /// Expects `read` to hold exactly `original`'s tensors (bit for bit), configuration and vocabulary.
    static func expectSame(_ read: Model, _ original: Model, type: SafetensorsDType = .f32) {
        #expect(read.config == original.config)
        #expect(read.tensorNames == LlamaTensorNames.expected(original.config).map(\.name))
        for tensor in original.tensors {
            guard let other = read.tensor(tensor.name) else {
                Issue.record("missing \(tensor.name)")
                continue
            }
            #expect(other.shape == tensor.shape)
            let expected = tensor.storage.array.map { SafetensorsRoundTripTests.quantised($0, type).bitPattern }
            #expect(other.storage.array.map(\.bitPattern) == expected, "\(tensor.name)")
        }
        // The tokenizer's own tokenizer.json round trip is the reference (it drops merges
        // that can never apply, like TinyModel's "Ġt he").
        // Special ids come from config.json / tokenizer_config.json and must equal the original's.
        let expected = try? BPEVocabulary(huggingFaceJSON: original.tokenizer.vocabulary.huggingFaceJSON())
        let (vocabulary, reference) = (read.tokenizer.vocabulary, original.tokenizer.vocabulary)
        #expect(vocabulary.tokens == reference.tokens)
        #expect(vocabulary.merges == expected?.merges && vocabulary.tokenTypes == expected?.tokenTypes)
        #expect(vocabulary.preTokenizer == reference.preTokenizer && vocabulary.addBOS == reference.addBOS)
        #expect(vocabulary.bosID == reference.bosID && vocabulary.eosID == reference.eosID)
        #expect(vocabulary.unknownID == reference.unknownID && vocabulary.paddingID == reference.paddingID)
    }

    @Test(
        "a TinyModel written as F32 reads back bit-identical, with equal config and metadata", arguments: [false, true])
    func roundTrip(tied: Bool) throws {
        let parent = try SafetensorsTestFiles.makeDirectory()
        defer { SafetensorsTestFiles.remove(parent) }
        let model = try Self.tinyModel(tied: tied)
        model.metadata["tokenizer.chat_template"] = .string("{% for m in messages %}{{ m['content'] }}\n{% endfor %}")
        let directory = parent + "/tiny"
        try HuggingFaceModelWriter.write(model, to: directory, type: .f32, metadata: ["shears.source": "tiny"])
        #expect(Set(try FileManager.default.contentsOfDirectory(atPath: parent)) == ["tiny"])
        #expect(
            Set(try FileManager.default.contentsOfDirectory(atPath: directory)) == [
                "model.safetensors", "config.json", "tokenizer.json", "tokenizer_config.json", "generation_config.json",
            ])
        let file = try SafetensorsFile(path: directory + "/model.safetensors")
        #expect(file.metadata == ["format": "pt", "shears.source": "tiny"])
        #expect(file.tensorNames.contains("lm_head.weight") == !tied)
        #expect(file.tensorNames.contains("model.layers.1.self_attn.q_proj.weight"))

        let read = try HuggingFaceModelReader.load(directory: directory)
        Self.expectSame(read, model)
        for (key, value) in model.metadata where key != "general.name" && key != "tokenizer.ggml.merges" {
            #expect(read.metadata[key] == value, "\(key)")
        }
        let merges = read.tokenizer.vocabulary.merges.map { GGUFValue.string($0) }
        #expect(read.metadata["tokenizer.ggml.merges"] == .array(.string, merges))
        #expect(read.metadata["general.name"] == .string("tiny"))
    }

    @Test("q_proj and k_proj are stored in Hugging Face row order")
    func storedOrder() throws {
        let parent = try SafetensorsTestFiles.makeDirectory()
        defer { SafetensorsTestFiles.remove(parent) }
        let model = try Self.tinyModel(tied: false)
        try HuggingFaceModelWriter.write(model, to: parent + "/m", type: .f32, metadata: [:])
        let file = try SafetensorsFile(path: parent + "/m/model.safetensors")
        let config = model.config
        for (part, heads) in [
            (LlamaTensorNames.Layer.query, config.layers[0].headCount), (.key, config.layers[0].kvHeadCount),
        ] {
            let stored = try file.tensor(ArchitectureDescriptor.huggingFaceName(gguf: part.name(layer: 1))!)
            let expected = HuggingFaceRotaryPermutation.toHuggingFace(model.tensor(part.name(layer: 1))!, heads: heads)
            #expect(stored.storage.array == expected.storage.array)
            #expect(stored.storage.array != model.tensor(part.name(layer: 1))!.storage.array)
        }
    }

    @Test("F16 and BF16 directories read back as the rounded values", arguments: [SafetensorsDType.f16, .bf16])
    func halfPrecision(type: SafetensorsDType) throws {
        let parent = try SafetensorsTestFiles.makeDirectory()
        defer { SafetensorsTestFiles.remove(parent) }
        let model = try Self.tinyModel(tied: true)
        try HuggingFaceModelWriter.write(model, to: parent + "/m", type: type, metadata: [:])
        let read = try HuggingFaceModelReader.load(directory: parent + "/m")
        Self.expectSame(read, model, type: type)
        #expect(read.tensors.allSatisfy { $0.sourceType == type.ggmlType })
        let config = try HuggingFaceConfig(
            json: Array(try Data(contentsOf: URL(fileURLWithPath: parent + "/m/config.json"))), path: "c")
        #expect(config.torchDType == type.torchName)
    }

    @Test("a sharded directory reads back bit-identical")
    func sharded() throws {
        let parent = try SafetensorsTestFiles.makeDirectory()
        defer { SafetensorsTestFiles.remove(parent) }
        let model = try Self.tinyModel(tied: false)
        try HuggingFaceModelWriter.write(model, to: parent + "/m", type: .f32, metadata: [:], maxShardSize: 20_000)
        let files = try FileManager.default.contentsOfDirectory(atPath: parent + "/m")
        #expect(files.contains(SafetensorsCheckpoint.indexFileName))
        #expect(files.filter { $0.hasSuffix(".safetensors") }.count > 2)
        Self.expectSame(try HuggingFaceModelReader.load(directory: parent + "/m"), model)
    }

    @Test("the writer refuses an existing destination and leaves it alone")
    func refusesExisting() throws {
        let parent = try SafetensorsTestFiles.makeDirectory()
        defer { SafetensorsTestFiles.remove(parent) }
        let model = try Self.tinyModel(tied: false)
        let error = #expect(throws: ModelIOError.self) {
            try HuggingFaceModelWriter.write(model, to: parent, type: .f32, metadata: [:])
        }
        #expect(error?.path == parent)
        #expect(try FileManager.default.contentsOfDirectory(atPath: parent).isEmpty)
        #expect(throws: ModelIOError.self) {
            try HuggingFaceModelWriter.write(model, to: parent + "/no/such/parent", type: .f32, metadata: [:])
        }
    }

    /// Writes a TinyModel directory, then rewrites its weights through `edit`.
    static func editedDirectory(_ parent: String, edit: (inout [Tensor]) -> Void) throws -> String {
        let directory = parent + "/m"
        try HuggingFaceModelWriter.write(try tinyModel(tied: false), to: directory, type: .f32, metadata: [:])
        let path = directory + "/model.safetensors"
        var tensors = try SafetensorsFile(path: path).tensors()
        edit(&tensors)
        try FileManager.default.removeItem(atPath: path)
        try SafetensorsWriter.write(tensors, type: .f32, to: path)
        return directory
    }

    @Test("missing, unexpected and mis-shaped tensors are named in Hugging Face terms")
    func badWeights() throws {
        let parent = try SafetensorsTestFiles.makeDirectory()
        defer { SafetensorsTestFiles.remove(parent) }
        let cases: [(String, (inout [Tensor]) -> Void, String)] = [
            (
                "model.layers.1.mlp.up_proj.weight",
                { $0.removeAll { $0.name == "model.layers.1.mlp.up_proj.weight" } }, "missing"
            ),
            (
                "model.layers.2.mlp.up_proj.weight",
                {
                    $0.append(
                        SafetensorsTestFiles.randomTensor(
                            "model.layers.2.mlp.up_proj.weight", shape: [48, 32], seed: 1))
                }, "not part"
            ),
            (
                "model.norm.weight",
                { tensors in
                    tensors.removeAll { $0.name == "model.norm.weight" }
                    tensors.append(SafetensorsTestFiles.randomTensor("model.norm.weight", shape: [31], seed: 1))
                }, "shape [31]"
            ),
        ]
        for (index, (item, edit, fragment)) in cases.enumerated() {
            let caseParent = parent + "/\(index)"
            try FileManager.default.createDirectory(atPath: caseParent, withIntermediateDirectories: false)
            let directory = try Self.editedDirectory(caseParent, edit: edit)
            let error = #expect(throws: ModelIOError.self) { try HuggingFaceModelReader.load(directory: directory) }
            #expect(error?.item == item, "\(error?.description ?? "")")
            #expect(error?.message.contains(fragment) == true, "\(error?.description ?? "")")
        }
    }

    @Test("inv_freq buffers and a tied model's stored lm_head are skipped")
    func skippedTensors() throws {
        let parent = try SafetensorsTestFiles.makeDirectory()
        defer { SafetensorsTestFiles.remove(parent) }
        let directory = parent + "/m"
        let model = try Self.tinyModel(tied: true)
        try HuggingFaceModelWriter.write(model, to: directory, type: .f32, metadata: [:])
        let path = directory + "/model.safetensors"
        var tensors = try SafetensorsFile(path: path).tensors()
        tensors.append(
            SafetensorsTestFiles.randomTensor("model.layers.0.self_attn.rotary_emb.inv_freq", shape: [4], seed: 2))
        tensors.append(SafetensorsTestFiles.randomTensor("lm_head.weight", shape: [300, 32], seed: 3))
        try FileManager.default.removeItem(atPath: path)
        try SafetensorsWriter.write(tensors, type: .f32, to: path)
        Self.expectSame(try HuggingFaceModelReader.load(directory: directory), model)
    }
}
