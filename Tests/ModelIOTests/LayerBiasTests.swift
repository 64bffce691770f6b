import Foundation
import ModelIO
import TestSupport
import Testing

/// The optional `attn_output.bias` and `ffn_down.bias` of a layer: read and written with the
/// model, carried through surgery, and refused where they cannot be expressed.
@Suite struct LayerBiasTests {
    typealias Part = LlamaTensorNames.Layer

    static func biasNames(_ model: Model) -> [String] {
        model.tensorNames.filter { LlamaTensorNames.parse($0)?.kind == .bias }
    }

    @Test("bias names parse; biases of parts that take none do not")
    func names() {
        #expect(LlamaTensorNames.parse("blk.3.ffn_down.bias")! == (3, .down, .bias))
        #expect(LlamaTensorNames.parse("blk.0.attn_output.bias")! == (0, .attentionOutput, .bias))
        #expect(LlamaTensorNames.parse("blk.0.attn_q.weight")! == (0, .query, .weight))
        #expect(LlamaTensorNames.parse("blk.0.attn_q.bias")! == (0, .query, .bias))
        #expect(LlamaTensorNames.parse("blk.2.attn_k_norm.weight")! == (2, .key, .headNorm))
        #expect(LlamaTensorNames.parse("blk.0.attn_norm.bias") == nil)
        #expect(LlamaTensorNames.parse("blk.0.attn_v_norm.weight") == nil)
        #expect(Part.query.name(layer: 1, kind: .headNorm) == "blk.1.attn_q_norm.weight")
        #expect(LlamaTensorNames.parse("blk.01.ffn_down.bias") == nil)
        #expect(Part.down.name(layer: 7, kind: .bias) == "blk.7.ffn_down.bias")
    }

    @Test("biases round trip through GGUF, llama and deci, exactly", arguments: [false, true])
    func roundTrip(heterogeneous: Bool) throws {
        let directory = GGUFTemporaryDirectory()
        let model = heterogeneous ? try TinyModel.heterogeneous(biases: true) : try TinyModel.make(biases: true)
        // The heterogeneous model lost layer 2's attention and layer 4's FFN, and their biases.
        #expect(Self.biasNames(model).count == (heterogeneous ? 8 : 4))
        let path = directory.path("biased.gguf")
        try ModelWriter.write(model, to: path, type: .q8_0)
        let file = try GGUFFile(path: path)
        #expect(file.metadata["general.architecture"]?.string == (heterogeneous ? "deci" : "llama"))
        #expect(file.tensors.filter { $0.name.hasSuffix(".bias") }.allSatisfy { $0.type == .f32 })
        let loaded = try ModelLoader.load(path: path)
        #expect(Self.biasNames(loaded) == Self.biasNames(model))
        for name in Self.biasNames(model) {
            #expect(loaded.tensor(name)?.storage.array == model.tensor(name)?.storage.array, "\(name)")
        }
    }

    @Test("surgery renumbers biases with their blocks and drops them with their sub-block")
    func surgery() throws {
        var config = TinyModel.config
        config.layers = Array(repeating: config.layers[0], count: 3)
        let original = try TinyModel.make(config, seed: 4, biases: true)
        let model = try TinyModel.make(config, seed: 4, biases: true)
        try model.remove(.blocks([0]))
        #expect(
            model.tensor("blk.1.ffn_down.bias")?.storage.array == original.tensor("blk.2.ffn_down.bias")?.storage.array)
        #expect(model.tensor("blk.2.ffn_down.bias") == nil)
        try model.remove(.queryHeads(layer: 0, [0, 2]))
        #expect(
            model.tensor("blk.0.attn_output.bias")?.storage.array
                == original.tensor("blk.1.attn_output.bias")?.storage.array)
        try model.remove(.kvGroups(layer: 0, [0]))
        #expect(model.tensor("blk.0.attn_output.bias") != nil)
        try model.remove(.kvGroups(layer: 0, [0]))
        #expect(model.tensor("blk.0.attn_output.bias") == nil)
        try model.remove(.ffn(layer: 1))
        #expect(Self.biasNames(model) == ["blk.0.ffn_down.bias", "blk.1.attn_output.bias"])
    }

    @Test("setBias adds, replaces and removes a bias, and refuses what cannot carry one")
    func setBias() throws {
        let model = try TinyModel.heterogeneous()
        let hidden = model.config.hiddenSize
        let values = (0..<hidden).map { Float($0) / 100 }
        try model.setBias(values, of: .down, layer: 0)
        #expect(model.bias(of: .down, layer: 0)?.storage.array == values)
        let after = model.tensorNames.firstIndex(of: Part.down.name(layer: 0))!
        #expect(model.tensorNames[after + 1] == "blk.0.ffn_down.bias")
        try model.setBias(values.map { -$0 }, of: .down, layer: 0)
        #expect(model.bias(of: .down, layer: 0)?.storage.array == values.map { -$0 })
        #expect(model.tensorNames.count { $0 == "blk.0.ffn_down.bias" } == 1)
        try model.setBias(nil, of: .down, layer: 0)
        #expect(model.bias(of: .down, layer: 0) == nil && !model.tensorNames.contains("blk.0.ffn_down.bias"))
        let cases: [(LlamaTensorNames.Layer, Int, [Float], String)] = [
            (.query, 0, values, "only attn_output and ffn_down take a bias"),
            (.attentionOutput, 2, values, "layer 2 has no attention"),
            (.down, 4, values, "layer 4 has no FFN"),
            (.down, 5, values, "no such layer: the model has layers 0...4"),
            (.down, 0, [1, 2], "has 2 values; the hidden size is \(hidden)"),
            (.down, 0, values.map { $0 / 0 }, "a bias must be finite"),
        ]
        for (part, layer, bias, message) in cases {
            let error = #expect(throws: ModelIOError.self) { try model.setBias(bias, of: part, layer: layer) }
            #expect(error?.message.contains(message) == true, "\(part) \(layer): \(error?.message ?? "")")
        }
    }

    @Test("misplaced, mis-shaped and unsupported biases are refused with the tensor named")
    func refusals() throws {
        let model = try TinyModel.make()
        let config = model.config
        func load(adding tensor: Tensor, config: LlamaConfig? = nil) -> ModelIOError? {
            #expect(throws: ModelIOError.self) {
                try Model(
                    config: config ?? model.config, tensors: model.tensors + [tensor], metadata: model.metadata,
                    tokenizer: model.tokenizer, sourcePath: "biased.gguf")
            }
        }
        let hidden = config.hiddenSize
        let wrongShape = load(
            adding: Tensor(name: "blk.0.ffn_down.bias", shape: [hidden + 1], storage: .init(zeros: hidden + 1)))
        #expect(wrongShape?.item == "blk.0.ffn_down.bias")
        #expect(wrongShape?.message.contains("does not match the bias shape [\(hidden)]") == true)
        let unsupported = load(
            adding: Tensor(name: "blk.0.attn_q.bias", shape: [hidden], storage: .init(zeros: hidden)))
        #expect(
            unsupported?.message.contains("the llama descriptor (llama: RoPE-pair row order) has no q/k/v biases")
                == true)
        let norm = load(adding: Tensor(name: "blk.1.attn_k_norm.weight", shape: [8], storage: .init(zeros: 8)))
        #expect(
            norm?.message.contains("the llama descriptor (llama: RoPE-pair row order) has no q/k head norms") == true)
        let foreign = load(adding: Tensor(name: "blk.0.ffn_up.bias", shape: [hidden], storage: .init(zeros: hidden)))
        #expect(foreign?.message.contains("may only carry q/k/v, attn_output and ffn_down biases") == true)
        let beyond = load(adding: Tensor(name: "blk.9.ffn_down.bias", shape: [hidden], storage: .init(zeros: hidden)))
        #expect(beyond?.message.contains("the model has 2 layers") == true)
    }

    @Test("safetensors refuses a model with o/down biases and writes nothing")
    func safetensorsRefuses() throws {
        let directory = GGUFTemporaryDirectory()
        let path = directory.path("hf-out")
        let error = #expect(throws: ModelIOError.self) {
            try ModelWriter.write(try TinyModel.make(biases: true), to: path, type: .f32)
        }
        #expect(error?.item == "blk.0.attn_output.bias")
        #expect(error?.message.contains("write a .gguf file instead") == true)
        #expect(!FileManager.default.fileExists(atPath: path))
    }
}
