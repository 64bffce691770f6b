import Foundation
import ModelIO
import TestSupport
import Testing

/// `ArchitectureDescriptor`: the one table of architectures and tensors that readers, writers,
/// shapes and surgery read.
@Suite struct ArchitectureDescriptorTests {
    /// TinyModel's configuration with the given features (uniform, untied).
    static func config(biases: Bool = false, norms: Bool = false, window: Int? = nil) -> LlamaConfig {
        var config = TinyModel.config
        config.attentionBiases = biases
        config.queryKeyNorm = norms
        config.slidingWindow = window
        return config
    }

    @Test("writers pick the descriptor whose features the configuration has")
    func writerChoice() throws {
        #expect(ArchitectureDescriptor.forGGUF(Self.config()) == .llama)
        #expect(ArchitectureDescriptor.forGGUF(Self.config(window: 16)) == .mistral)
        #expect(ArchitectureDescriptor.forGGUF(Self.config(biases: true)) == .qwen2)
        #expect(ArchitectureDescriptor.forGGUF(Self.config(norms: true)) == .qwen3)
        let heterogeneous = try TinyModel.heterogeneous().config
        #expect(ArchitectureDescriptor.forGGUF(heterogeneous) == .deci)
        #expect(ArchitectureDescriptor.forHuggingFace(heterogeneous) == nil)
        #expect(
            ArchitectureDescriptor.forHuggingFace(Self.config(window: 16))?.huggingFaceArchitecture
                == "MistralForCausalLM")
        // llama.cpp's qwen2 graph needs query heads spanning the hidden size; config.json does not.
        var narrow = Self.config(biases: true)
        narrow.headDim = 4
        #expect(ArchitectureDescriptor.forGGUF(narrow) == .deci)
        #expect(ArchitectureDescriptor.forHuggingFace(narrow) == .qwen2)
        #expect(
            ArchitectureDescriptor.qwen2.description == "qwen2: q/k/v biases, optional sliding window, HF row order")
        #expect(ArchitectureDescriptor.llama.description == "llama: RoPE-pair row order")
    }

    @Test("every table tensor has one GGUF and one Hugging Face name, and its shape is the model's")
    func table() throws {
        for config in [Self.config(), Self.config(biases: true), Self.config(norms: true)] {
            let model = try TinyModel.make(config, biases: true)
            for tensor in model.tensors {
                let hf = try #require(ArchitectureDescriptor.huggingFaceName(gguf: tensor.name), "\(tensor.name)")
                #expect(ArchitectureDescriptor.ggufName(huggingFace: hf) == tensor.name)
                if let (layer, part, kind) = LlamaTensorNames.parse(tensor.name) {
                    let row = try #require(ArchitectureDescriptor.LayerTensor.of(part, kind))
                    #expect(row.shape(model.config, layer: layer) == tensor.shape, "\(tensor.name)")
                }
            }
        }
        let rows = ArchitectureDescriptor.LayerTensor.all
        #expect(Set(rows.map(\.huggingFace)).count == rows.count)
        #expect(ArchitectureDescriptor.LayerTensor.of(.up, .bias) == nil)
        #expect(ArchitectureDescriptor.LayerTensor.of(.value, .headNorm) == nil)
    }

    @Test("a GGUF architecture is matched by name (llama with a window is Mistral); an unknown one is refused")
    func ggufMatching() throws {
        func metadata(_ architecture: String, window: Bool = false) -> GGUFMetadata {
            var metadata = GGUFMetadata([("general.architecture", .string(architecture))])
            if window { metadata["\(architecture).attention.sliding_window"] = .uint32(64) }
            return metadata
        }
        #expect(try ArchitectureDescriptor.matching(gguf: metadata("llama"), path: "m.gguf") == .llama)
        #expect(try ArchitectureDescriptor.matching(gguf: metadata("llama", window: true), path: "m.gguf") == .mistral)
        #expect(try ArchitectureDescriptor.matching(gguf: metadata("qwen2", window: true), path: "m.gguf") == .qwen2)
        #expect(try ArchitectureDescriptor.matching(gguf: metadata("deci"), path: "m.gguf") == .deci)
        let error = #expect(throws: ModelIOError.self) {
            try ArchitectureDescriptor.matching(gguf: metadata("gemma3"), path: "m.gguf")
        }
        #expect(error?.path == "m.gguf" && error?.item == "general.architecture")
        #expect(error?.message.contains("'gemma3' is not supported") == true, "\(error?.message ?? "")")
        #expect(
            error?.message.contains(
                "qwen3 (GGUF qwen3), qwen2 (GGUF qwen2), llama (GGUF llama), mistral (GGUF llama), deci (GGUF deci)")
                == true, "\(error?.message ?? "")")
    }

    @Test("a Hugging Face architecture is matched by architectures, else model_type")
    func huggingFaceMatching() {
        #expect(ArchitectureDescriptor.matching(huggingFace: ["Qwen2ForCausalLM"], modelType: nil) == .qwen2)
        #expect(
            ArchitectureDescriptor.matching(huggingFace: ["GemmaForCausalLM", "MistralForCausalLM"], modelType: nil)
                == .mistral)
        #expect(ArchitectureDescriptor.matching(huggingFace: nil, modelType: "qwen3") == .qwen3)
        #expect(ArchitectureDescriptor.matching(huggingFace: ["GemmaForCausalLM"], modelType: "llama") == nil)
        #expect(ArchitectureDescriptor.matching(huggingFace: nil, modelType: "gemma") == nil)
    }

    @Test("a llama GGUF carrying Qwen's q/k/v biases is refused naming the tensor and the descriptor")
    func foreignTensor() throws {
        let directory = GGUFTemporaryDirectory()
        let qwen = try TinyModel.make(Self.config(biases: true))
        let path = directory.path("llama-with-biases.gguf")
        try writeGGUF(qwen, claiming: "llama", to: path)
        let error = #expect(throws: ModelIOError.self) { try ModelLoader.load(path: path) }
        #expect(error?.path == path && error?.item == "blk.0.attn_q.bias", "\(error?.description ?? "")")
        #expect(
            error?.message.contains("the llama descriptor (llama: RoPE-pair row order) has no q/k/v biases") == true,
            "\(error?.description ?? "")")
    }
}
