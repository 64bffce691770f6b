import Foundation
import ModelIO
import TestSupport
import Testing

/// Qwen2's q/k/v biases and Qwen3's q/k head norms: named, permuted with their rows between the
/// two layouts, written as llama.cpp's `qwen2`/`qwen3` (rows in Hugging Face order) and read back
/// exactly, sliced with their heads by surgery, and required where the architecture has them.
@Suite struct QwenLayoutTests {
    /// TinyModel's configuration with q/k/v biases (Qwen2) or q/k norms (Qwen3, head size 8).
    static func config(qwen3: Bool) -> LlamaConfig {
        var config = TinyModel.config
        config.tiedEmbedding = true
        if qwen3 { config.queryKeyNorm = true } else { config.attentionBiases = true }
        return config
    }

    /// Tensor values by name.
    static func values(_ model: Model) -> [String: [Float]] {
        Dictionary(uniqueKeysWithValues: model.tensors.map { ($0.name, $0.storage.array) })
    }

    @Test(
        "Qwen2/Qwen3 round trip through GGUF (qwen2/qwen3, Hugging Face rows) and safetensors exactly",
        arguments: [false, true])
    func roundTrip(qwen3: Bool) throws {
        let directory = GGUFTemporaryDirectory()
        let model = try TinyModel.make(Self.config(qwen3: qwen3), seed: 6)
        let extra =
            qwen3
            ? ["blk.1.attn_q_norm.weight", "blk.1.attn_k_norm.weight"] : ["blk.1.attn_q.bias", "blk.1.attn_v.bias"]
        for name in extra { #expect(model.tensor(name) != nil, "\(name)") }

        let gguf = directory.path("qwen.gguf")
        try ModelWriter.write(model, to: gguf, type: .f32)
        let file = try GGUFFile(path: gguf)
        #expect(file.metadata["general.architecture"]?.string == (qwen3 ? "qwen3" : "qwen2"))
        // The file keeps llama.cpp's qwen layout: q/k rows (and biases, norms) in Hugging Face order.
        let stored = try file.loadAllTensors().first { $0.name == extra[0] }!
        let expected = HuggingFaceRotaryPermutation.convert(
            model.tensor(extra[0])!, config: model.config, toGGUF: false)
        #expect(stored.storage.array == expected.storage.array)
        #expect(stored.storage.array != model.tensor(extra[0])!.storage.array)
        let fromGGUF = try ModelLoader.load(path: gguf)
        #expect(fromGGUF.config == model.config)
        #expect(Self.values(fromGGUF) == Self.values(model))

        let hf = directory.path("qwen-hf")
        try ModelWriter.write(model, to: hf, type: .f32)
        let json = try String(contentsOfFile: hf + "/config.json", encoding: .utf8)
        #expect(json.contains(qwen3 ? "\"Qwen3ForCausalLM\"" : "\"Qwen2ForCausalLM\""))
        let fromHF = try ModelLoader.load(path: hf)
        #expect(fromHF.config == model.config)
        #expect(Self.values(fromHF) == Self.values(model))
    }

    @Test("a Qwen2 checkpoint without its q/k/v biases is refused naming the first missing one")
    func missingBiases() throws {
        let directory = GGUFTemporaryDirectory()
        let hf = directory.path("llama-hf")
        try ModelWriter.write(try TinyModel.make(seed: 2), to: hf, type: .f32)
        let configPath = hf + "/config.json"
        let json = try String(contentsOfFile: configPath, encoding: .utf8)
        try json.replacingOccurrences(of: "LlamaForCausalLM", with: "Qwen2ForCausalLM")
            .write(toFile: configPath, atomically: true, encoding: .utf8)
        let error = #expect(throws: ModelIOError.self) { try ModelLoader.load(path: hf) }
        #expect(error?.item == "model.layers.0.self_attn.q_proj.bias", "\(error?.description ?? "")")
        #expect(error?.path == hf + "/model.safetensors", "\(error?.description ?? "")")
        #expect(
            error?.message.contains(
                "tensor is missing; the qwen2 descriptor (qwen2: q/k/v biases, optional sliding window, HF row order) "
                    + "requires it: every attention has q/k/v biases") == true, "\(error?.description ?? "")")

        // The same through GGUF: a qwen2 file needs blk.N.attn_q.bias.
        let llama = try TinyModel.make(seed: 2)
        let gguf = directory.path("qwen2-without-biases.gguf")
        try writeGGUF(llama, claiming: "qwen2", to: gguf)
        let ggufError = #expect(throws: ModelIOError.self) { try ModelLoader.load(path: gguf) }
        #expect(ggufError?.item == "blk.0.attn_q.bias", "\(ggufError?.description ?? "")")
        #expect(ggufError?.path == gguf && ggufError?.message.contains("the qwen2 descriptor") == true)
    }

    @Test("surgery slices q/k/v biases with their heads and leaves head norms and q/k/v biases out of the hidden axis")
    func surgery() throws {
        let original = try TinyModel.make(Self.config(qwen3: false), seed: 3)
        let model = try TinyModel.make(Self.config(qwen3: false), seed: 3)
        let d = model.config.headDim
        try model.remove(.kvGroups(layer: 0, [0]))
        let q = original.tensor("blk.0.attn_q.bias")!.storage.array
        let k = original.tensor("blk.0.attn_k.bias")!.storage.array
        #expect(model.tensor("blk.0.attn_q.bias")!.storage.array == Array(q[(2 * d)...]))
        #expect(model.tensor("blk.0.attn_k.bias")!.storage.array == Array(k[d...]))
        try model.remove(.queryHeads(layer: 1, [0, 2]))
        let q1 = original.tensor("blk.1.attn_q.bias")!.storage.array
        #expect(model.tensor("blk.1.attn_q.bias")!.storage.array == Array(q1[d..<(2 * d)] + q1[(3 * d)...]))
        #expect(model.tensor("blk.1.attn_v.bias")!.storage.array == original.tensor("blk.1.attn_v.bias")!.storage.array)
        try model.remove(.hiddenChannels([0, 5]))
        #expect(model.tensor("blk.1.attn_v.bias")!.storage.array == original.tensor("blk.1.attn_v.bias")!.storage.array)
        try model.remove(.attention(layer: 1))
        #expect(model.tensor("blk.1.attn_q.bias") == nil && model.tensor("blk.1.attn_v.bias") == nil)

        let qwen3 = try TinyModel.make(Self.config(qwen3: true), seed: 3)
        let norm = qwen3.tensor("blk.0.attn_q_norm.weight")!.storage.array
        try qwen3.remove(.queryHeads(layer: 0, [1, 3]))
        try qwen3.remove(.hiddenChannels([1]))
        #expect(qwen3.tensor("blk.0.attn_q_norm.weight")!.storage.array == norm)
        try qwen3.remove(.blocks([0]))
        #expect(qwen3.tensor("blk.0.attn_k_norm.weight") != nil && qwen3.tensor("blk.1.attn_k_norm.weight") == nil)
    }
}
