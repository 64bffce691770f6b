import ModelIO
import TestSupport
import Testing

@Suite("Hugging Face names and q/k permutation")
struct HuggingFaceLayoutTests {
    @Test("every LLaMA tensor name maps to Hugging Face and back")
    func nameRoundTrip() {
        for (name, _) in LlamaTensorNames.expected(TinyModel.config) {
            let hf = ArchitectureDescriptor.huggingFaceName(gguf: name)
            #expect(hf != nil, "\(name)")
            #expect(hf.flatMap { ArchitectureDescriptor.ggufName(huggingFace: $0) } == name)
        }
        #expect(
            ArchitectureDescriptor.huggingFaceName(gguf: "blk.12.attn_q.weight")
                == "model.layers.12.self_attn.q_proj.weight")
        #expect(
            ArchitectureDescriptor.ggufName(huggingFace: "model.layers.3.post_attention_layernorm.weight")
                == "blk.3.ffn_norm.weight")
        #expect(ArchitectureDescriptor.ggufName(huggingFace: "model.embed_tokens.weight") == "token_embd.weight")
        #expect(ArchitectureDescriptor.ggufName(huggingFace: "lm_head.weight") == "output.weight")
        #expect(ArchitectureDescriptor.ggufName(huggingFace: "model.layers.03.mlp.up_proj.weight") == nil)
        #expect(ArchitectureDescriptor.ggufName(huggingFace: "model.layers.1.mlp.up_proj.bias") == nil)
        #expect(ArchitectureDescriptor.huggingFaceName(gguf: "blk.1.attn_norm.bias") == nil)
        #expect(
            ArchitectureDescriptor.huggingFaceName(gguf: "blk.1.attn_q.bias") == "model.layers.1.self_attn.q_proj.bias")
        #expect(
            ArchitectureDescriptor.ggufName(huggingFace: "model.layers.2.self_attn.k_norm.weight")
                == "blk.2.attn_k_norm.weight")
        #expect(ArchitectureDescriptor.ggufName(huggingFace: "model.layers.2.self_attn.v_norm.weight") == nil)
    }

    /// A tensor whose element at (row, column) is `row * 1000 + column`.
    static func indexed(rows: Int, columns: Int) -> Tensor {
        Tensor(
            name: "q", shape: [rows, columns],
            storage: TensorStorage((0..<rows * columns).map { Float(($0 / columns) * 1000 + $0 % columns) }))
    }

    @Test("rows follow llama.cpp's permute: GGUF row 2i+j of a head is HF row j·d/2+i")
    func permutationLayout() {
        // 2 heads of dimension 4: per head HF rows [a0 a1 b0 b1] become [a0 b0 a1 b1].
        let tensor = Self.indexed(rows: 8, columns: 3)
        let gguf = HuggingFaceRotaryPermutation.toGGUF(tensor, heads: 2)
        #expect(stride(from: 0, to: 24, by: 3).map { Int(gguf.storage.buffer[$0]) / 1000 } == [0, 2, 1, 3, 4, 6, 5, 7])
        #expect(gguf.storage.buffer[3 * 1 + 2] == 2002)
    }

    @Test(
        "the permutation and its inverse are exact inverses in both directions",
        arguments: [(1, 2), (3, 64), (9, 64), (4, 6)])
    func permutationInverse(heads: Int, headDim: Int) {
        let tensor = SafetensorsTestFiles.randomTensor("w", shape: [heads * headDim, 5], seed: UInt64(heads * headDim))
        let bits = tensor.storage.array.map(\.bitPattern)
        let there = HuggingFaceRotaryPermutation.toGGUF(tensor, heads: heads)
        #expect(HuggingFaceRotaryPermutation.toHuggingFace(there, heads: heads).storage.array.map(\.bitPattern) == bits)
        let back = HuggingFaceRotaryPermutation.toHuggingFace(tensor, heads: heads)
        #expect(HuggingFaceRotaryPermutation.toGGUF(back, heads: heads).storage.array.map(\.bitPattern) == bits)
        if headDim > 2 { #expect(there.storage.array != tensor.storage.array) }
    }
}
