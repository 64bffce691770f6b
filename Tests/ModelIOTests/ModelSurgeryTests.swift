import Foundation
import ModelIO
import TestSupport
import Testing

/// Structural surgery on a `Model`: shapes, names, legality, and heterogeneous models in and out
/// of GGUF (`deci` out; `deci` and per-layer-array `llama` in) and safetensors (refused).
@Suite struct ModelSurgeryTests {
    typealias Part = LlamaTensorNames.Layer

    @Test("each removal shrinks exactly the coupled slices")
    func shapes() throws {
        let model = try TinyModel.heterogeneous()
        let c = model.config
        #expect(
            c.layers == [
                LayerShape(headCount: 2, kvHeadCount: 2, ffnSize: 48),
                LayerShape(headCount: 2, kvHeadCount: 1, ffnSize: 48),
                LayerShape(headCount: 0, kvHeadCount: 0, ffnSize: 48),
                LayerShape(headCount: 4, kvHeadCount: 2, ffnSize: 32),
                LayerShape(headCount: 4, kvHeadCount: 2, ffnSize: 0),
            ])
        #expect(model.tensor(Part.query.name(layer: 0))?.shape == [16, 32])
        #expect(model.tensor(Part.attentionOutput.name(layer: 0))?.shape == [32, 16])
        #expect(model.tensor(Part.key.name(layer: 0))?.shape == [16, 32])
        #expect(model.tensor(Part.key.name(layer: 1))?.shape == [8, 32])
        #expect(model.tensor(Part.query.name(layer: 1))?.shape == [16, 32])
        #expect(Part.allCases.filter(\.isAttention).allSatisfy { model.tensor($0.name(layer: 2)) == nil })
        #expect(model.tensor(Part.gate.name(layer: 3))?.shape == [32, 32])
        #expect(model.tensor(Part.down.name(layer: 3))?.shape == [32, 32])
        #expect(Part.allCases.filter { !$0.isAttention }.allSatisfy { model.tensor($0.name(layer: 4)) == nil })
        #expect(model.tensorNames.count == Set(model.tensorNames).count)
        #expect(model.tensors.count == LlamaTensorNames.expected(c).count)
    }

    @Test("kept slices are the original rows and columns, in order")
    func slicesKeepValues() throws {
        let original = try TinyModel.make(seed: 9)
        let model = try TinyModel.make(seed: 9)
        try model.remove(.queryHeads(layer: 1, [0, 2]))
        try model.remove(.ffnChannels(layer: 0, [3, 4]))
        let q = original.tensor(Part.query.name(layer: 1))!.storage.array
        // Heads 1 and 3 remain: rows 8..<16 and 24..<32.
        #expect(
            model.tensor(Part.query.name(layer: 1))!.storage.array == Array(q[8 * 32..<16 * 32] + q[24 * 32..<32 * 32]))
        let o = original.tensor(Part.attentionOutput.name(layer: 1))!.storage.array
        let keptO = (0..<32).flatMap { row in (Array(8..<16) + Array(24..<32)).map { o[row * 32 + $0] } }
        #expect(model.tensor(Part.attentionOutput.name(layer: 1))!.storage.array == keptO)
        let down = original.tensor(Part.down.name(layer: 0))!.storage.array
        let keptDown = (0..<32).flatMap { row in (0..<48).filter { $0 != 3 && $0 != 4 }.map { down[row * 48 + $0] } }
        #expect(model.tensor(Part.down.name(layer: 0))!.storage.array == keptDown)
    }

    @Test("removing blocks renumbers the later layers")
    func blocks() throws {
        var config = TinyModel.config
        config.layers = Array(repeating: config.layers[0], count: 4)
        let original = try TinyModel.make(config, seed: 2)
        let model = try TinyModel.make(config, seed: 2)
        try model.remove(.blocks([2, 0]))
        #expect(model.config.layerCount == 2)
        #expect(model.tensor("blk.2.attn_q.weight") == nil)
        #expect(
            model.tensor("blk.0.ffn_up.weight")?.storage.array == original.tensor("blk.1.ffn_up.weight")?.storage.array)
        #expect(
            model.tensor("blk.1.ffn_up.weight")?.storage.array == original.tensor("blk.3.ffn_up.weight")?.storage.array)
        #expect(model.tensorNames.filter { $0.hasPrefix("blk.") }.count == 18)
    }

    @Test("illegal removals are refused with what and where, and leave the model unchanged")
    func refusals() throws {
        let model = try TinyModel.make()
        let before = model.config
        let cases: [(StructuralRemoval, String)] = [
            (.queryHeads(layer: 0, [0, 1]), "every KV group must keep the same number of query heads"),
            (.queryHeads(layer: 0, [4]), "heads index 4 is out of range 0...3"),
            (.queryHeads(layer: 2, [0]), "no such layer: the model has layers 0...1"),
            (.kvGroups(layer: 1, [1, 1]), "kv_groups index 1 is given twice"),
            (.ffnChannels(layer: 0, []), "no channels given"),
            (.blocks([0, 1]), "removing all 2 layers leaves no model"),
        ]
        for (removal, message) in cases {
            let error = #expect(throws: ModelIOError.self) { try model.remove(removal) }
            #expect(error?.message.contains(message) == true, "\(removal): \(error?.message ?? "")")
        }
        #expect(model.config == before)
        try model.remove(.attention(layer: 1))
        let again = #expect(throws: ModelIOError.self) { try model.remove(.kvGroups(layer: 1, [0])) }
        #expect(again?.message == "layer 1 has no attention left")
    }

    @Test("heterogeneous models are written as deci GGUF and read back exactly")
    func deciRoundTrip() throws {
        let directory = GGUFTemporaryDirectory()
        let model = try TinyModel.heterogeneous()
        let path = directory.path("hetero.gguf")
        try ModelWriter.write(model, to: path, type: .f32)
        let file = try GGUFFile(path: path)
        #expect(file.metadata["general.architecture"]?.string == "deci")
        #expect(file.metadata["deci.attention.head_count"]?.array?.compactMap(\.int) == [2, 2, 0, 4, 4])
        #expect(file.metadata["deci.attention.head_count_kv"]?.array?.compactMap(\.int) == [2, 1, 0, 2, 2])
        // Layer 4 keeps attention without an FFN: llama.cpp's deci graph would skip a layer whose
        // FFN width is 0 whole, so it is written with an FFN of width 1 that adds exactly zero.
        #expect(file.metadata["deci.feed_forward_length"]?.array?.compactMap(\.int) == [48, 48, 48, 32, 1])
        #expect(file.metadata["deci.attention.key_length"]?.int == 8)
        #expect(file.metadata["deci.attention.value_length"]?.int == 8)
        #expect(file.metadata["deci.rope.dimension_count"]?.int == 8)
        #expect(file.metadata["deci.block_count"]?.int == 5)
        #expect(file.metadata.keys.allSatisfy { !$0.hasPrefix("llama.") })
        let loaded = try ModelLoader.load(path: path)
        var expected = model.config
        expected.layers[4].ffnSize = 1
        #expect(loaded.config == expected)
        for tensor in model.tensors { #expect(loaded.tensor(tensor.name)?.storage.array == tensor.storage.array) }
        #expect(loaded.tensor(Part.down.name(layer: 4))?.storage.array.allSatisfy { $0 == 0 } == true)
        #expect(loaded.tensor(Part.ffnNorm.name(layer: 4))?.storage.array.allSatisfy { $0 == 1 } == true)
    }

    @Test("uniform models stay llama, with key_length, value_length and rope.dimension_count written")
    func uniformStaysLlama() throws {
        let directory = GGUFTemporaryDirectory()
        let model = try TinyModel.make()
        let path = directory.path("uniform.gguf")
        try ModelWriter.write(model, to: path, type: .f32)
        let file = try GGUFFile(path: path)
        #expect(file.metadata["general.architecture"]?.string == "llama")
        #expect(file.metadata["llama.attention.head_count"] == .uint32(4))
        #expect(file.metadata["llama.feed_forward_length"] == .uint32(48))
        #expect(file.metadata["llama.attention.key_length"]?.int == 8)
        #expect(file.metadata["llama.rope.dimension_count"]?.int == 8)
        #expect(try ModelLoader.load(path: path).config == model.config)
    }

    @Test("llama GGUF with per-layer arrays is read per layer")
    func arrayedLlamaIn() throws {
        let directory = GGUFTemporaryDirectory()
        let model = try TinyModel.make()
        try model.remove(.ffnChannels(layer: 1, [0, 1, 2, 3]))
        try model.remove(.kvGroups(layer: 0, [0]))
        var metadata = TinyModel.metadata(TinyModel.config, model.tokenizer.vocabulary)
        metadata["llama.attention.head_count"] = .array(.uint32, [.uint32(2), .uint32(4)])
        metadata["llama.attention.head_count_kv"] = .array(.uint32, [.uint32(1), .uint32(2)])
        metadata["llama.feed_forward_length"] = .array(.int32, [.int32(48), .int32(44)])
        metadata["llama.attention.key_length"] = .uint32(8)
        let path = directory.path("arrayed.gguf")
        try GGUFWriter.write(metadata: metadata, tensors: model.tensors.map { .init(tensor: $0, type: .f32) }, to: path)
        let loaded = try ModelLoader.load(path: path)
        #expect(loaded.config == model.config)

        metadata["llama.feed_forward_length"] = .array(.int32, [.int32(48)])
        let short = directory.path("short.gguf")
        try GGUFWriter.write(
            metadata: metadata, tensors: model.tensors.map { .init(tensor: $0, type: .f32) }, to: short)
        let error = #expect(throws: ModelIOError.self) { try ModelLoader.load(path: short) }
        #expect(error?.item == "llama.feed_forward_length")
        #expect(error?.message == "has 1 entries for 2 layers")
    }

    @Test("a stray attention tensor in a layer without attention is refused")
    func strayTensor() throws {
        let model = try TinyModel.make()
        var config = model.config
        config.layers[1] = LayerShape(headCount: 0, kvHeadCount: 0, ffnSize: 48)
        let error = #expect(throws: ModelIOError.self) {
            try Model(
                config: config, tensors: model.tensors, metadata: model.metadata, tokenizer: model.tokenizer,
                sourcePath: "stray.gguf")
        }
        #expect(error?.item == "blk.1.attn_norm.weight")
        #expect(error?.message.contains("layer 1 has no attention") == true)
    }

    @Test("safetensors refuses per-layer shapes, naming the layer and the field")
    func safetensorsRefuses() throws {
        let directory = GGUFTemporaryDirectory()
        let model = try TinyModel.make()
        try model.remove(.ffnChannels(layer: 1, [7]))
        let path = directory.path("hf-out")
        let error = #expect(throws: ModelIOError.self) { try ModelWriter.write(model, to: path, type: .f32) }
        #expect(error?.item == "layer 1")
        #expect(error?.message.contains("intermediate_size (47, layer 0 has 48) differs from layer 0") == true)
        #expect(error?.message.contains("write a .gguf file instead") == true)
        #expect(!FileManager.default.fileExists(atPath: path))
    }
}
