import Foundation
import ModelIO
import TestSupport
import Testing

@Suite("Hugging Face config.json")
struct HuggingFaceConfigTests {
    /// SmolLM2-135M-Instruct's config.json (transformers 4.x spelling).
    static let smolLM2 = """
        {
          "architectures": ["LlamaForCausalLM"], "attention_bias": false, "attention_dropout": 0.0,
          "bos_token_id": 1, "eos_token_id": 2, "hidden_act": "silu", "hidden_size": 576,
          "initializer_range": 0.041666666666666664, "intermediate_size": 1536, "is_llama_config": true,
          "max_position_embeddings": 8192, "mlp_bias": false, "model_type": "llama", "num_attention_heads": 9,
          "num_hidden_layers": 30, "num_key_value_heads": 3, "pad_token_id": 2, "pretraining_tp": 1,
          "rms_norm_eps": 1e-05, "rope_interleaved": false, "rope_scaling": null, "rope_theta": 100000,
          "tie_word_embeddings": true, "torch_dtype": "bfloat16", "transformers_version": "4.42.3",
          "use_cache": true, "vocab_size": 49152
        }
        """

    @Test("SmolLM2's config.json reads into the expected hyper-parameters")
    func smolLM2() throws {
        let config = try HuggingFaceConfig(json: Array(Self.smolLM2.utf8), path: "config.json")
        #expect(
            config.llama
                == LlamaConfig(
                    layerCount: 30, hiddenSize: 576, headCount: 9, kvHeadCount: 3, headDim: 64,
                    ffnSize: 1536, vocabSize: 49152, contextLength: 8192, ropeTheta: 100000,
                    rmsNormEpsilon: 1e-5, tiedEmbedding: true))
        #expect(
            config.torchDType == "bfloat16" && config.bosTokenID == 1 && config.eosTokenIDs == [2]
                && config.padTokenID == 2)
        #expect(try LlamaConfig(huggingFaceConfig: Array(Self.smolLM2.utf8), path: "config.json") == config.llama)
    }

    @Test("write then read gives the same configuration", arguments: [false, true])
    func roundTrip(tied: Bool) throws {
        var llama = TinyModel.config
        llama.tiedEmbedding = tied
        llama.headDim = 16 // differs from hidden / heads: must be written explicitly
        llama.rmsNormEpsilon = 1e-6
        llama.ropeTheta = 500000
        let config = HuggingFaceConfig(llama: llama, torchDType: "float32", bosTokenID: 0, eosTokenIDs: [1, 2])
        let text = String(decoding: config.json(), as: UTF8.self)
        #expect(
            text.hasPrefix("{\n  \"architectures\": [\n    \"LlamaForCausalLM\"\n  ],\n  \"attention_bias\": false,"))
        #expect(text.contains("\"rms_norm_eps\": 1e-06,"))
        #expect(try HuggingFaceConfig(json: config.json(), path: "c") == config)
    }

    @Test(
        "RoPE scaling and a sliding window survive a write and read",
        arguments: [
            RopeScaling.linear(factor: 2),
            .llama3(factor: 8, lowFrequencyFactor: 1, highFrequencyFactor: 4, originalContextLength: 8192),
            .yarn(factor: 4, originalContextLength: 64, betaFast: 16, betaSlow: 2, attentionFactor: 1.25),
        ])
    func scalingRoundTrip(scaling: RopeScaling) throws {
        var llama = TinyModel.config
        llama.ropeScaling = scaling
        llama.slidingWindow = 64
        let config = HuggingFaceConfig(llama: llama, descriptor: .mistral)
        let read = try HuggingFaceConfig(json: config.json(), path: "c")
        #expect(read == config)
        #expect(read.llama.ropeScaling == scaling && read.llama.slidingWindow == 64)
    }

    @Test("yarn as transformers reads it: default original context, beta_fast/beta_slow, attention factor, mscale")
    func yarn() throws {
        func read(_ rope: String) throws -> RopeScaling {
            let json =
                #"{"architectures":["Qwen2ForCausalLM"],"hidden_size":64,"intermediate_size":128,"#
                + #""num_hidden_layers":2,"num_attention_heads":4,"vocab_size":300,"max_position_embeddings":131072,"#
                + #""rope_scaling":"# + rope + "}"
            return try HuggingFaceConfig(json: Array(json.utf8), path: "c").llama.ropeScaling
        }
        let qwen = try read(#"{"type":"yarn","factor":4.0,"original_max_position_embeddings":32768}"#)
        #expect(
            qwen
                == .yarn(
                    factor: 4, originalContextLength: 32768, betaFast: 32, betaSlow: 1,
                    attentionFactor: Float(1 + 0.1 * log(4.0))))
        // Without original_max_position_embeddings: max_position_embeddings; beta 0 means the default.
        let bare = try read(#"{"rope_type":"yarn","factor":2.0,"beta_fast":0,"attention_factor":0.9}"#)
        #expect(
            bare == .yarn(factor: 2, originalContextLength: 131072, betaFast: 32, betaSlow: 1, attentionFactor: 0.9))
        // DeepSeek's mscale pair: the ratio of the two scaled factors.
        let deepseek = try read(
            #"{"rope_type":"yarn","factor":40,"mscale":1.0,"mscale_all_dim":0.5,"original_max_position_embeddings":4096}"#
        )
        let logFactor: Double = log(40.0)
        let expected = Float((0.1 * logFactor + 1) / (0.05 * logFactor + 1))
        guard case .yarn(40, 4096, 32, 1, let attention) = deepseek else {
            Issue.record("\(deepseek)")
            return
        }
        #expect(abs(attention - expected) < 1e-6)
    }

    @Test("transformers 5 spelling (rope_parameters, dtype) and Mistral are accepted")
    func variants() throws {
        let v5 =
            #"{"architectures":["MistralForCausalLM"],"hidden_size":64,"intermediate_size":128,"num_hidden_layers":2,"#
            + #""num_attention_heads":4,"num_key_value_heads":2,"vocab_size":300,"max_position_embeddings":32768,"sliding_window":4096,"#
            + #""rope_parameters":{"rope_type":"default","rope_theta":1000000.0},"dtype":"bfloat16","eos_token_id":[5,6]}"#
        let config = try HuggingFaceConfig(json: Array(v5.utf8), path: "c")
        #expect(config.architecture == "MistralForCausalLM")
        #expect(
            config.llama.ropeTheta == 1_000_000 && config.llama.contextLength == 32768 && config.llama.headDim == 16)
        #expect(config.llama.slidingWindow == 4096)
        #expect(config.torchDType == "bfloat16" && config.eosTokenIDs == [5, 6])
        #expect(config.llama.rmsNormEpsilon == 1e-6 && !config.llama.tiedEmbedding)
    }

    static let refusals: [(String, String, String)] = [
        (#""architectures":["GemmaForCausalLM"]"#, "architectures", "not supported"),
        (#""architectures":["Qwen3ForCausalLM"],"attention_bias":true"#, "attention_bias", "q/k/v biases only"),
        (#""architectures":["Qwen2ForCausalLM"],"use_sliding_window":true"#, "use_sliding_window", "max_window_layers"),
        (
            #""rope_scaling":{"rope_type":"llama3","factor":8.0,"low_freq_factor":1,"high_freq_factor":4}"#,
            "rope_scaling.original_max_position_embeddings", "is missing"
        ),
        (
            #""rope_scaling":{"type":"longrope","factor":4.0}"#, "rope_scaling.rope_type",
            "\"longrope\" is not supported"
        ),
        (
            #""rope_scaling":{"type":"yarn","factor":4.0,"truncate":false}"#, "rope_scaling.truncate",
            "llama.cpp has none"
        ),
        (#""rope_scaling":{"type":"yarn","factor":4.0,"beta_fast":1,"beta_slow":2}"#, "rope_scaling", "must exceed"),
        (#""rope_parameters":{"rope_type":"dynamic","factor":2.0}"#, "rope_parameters.rope_type", "dynamic"),
        (#""rope_scaling":{"type":"linear","factor":"2"}"#, "rope_scaling.factor", "not a number"),
        (
            #""rope_scaling":{"rope_type":"llama3","factor":8,"low_freq_factor":4,"high_freq_factor":1,"#
                + #""original_max_position_embeddings":8192}"#, "rope_scaling", "must exceed"
        ),
        (#""attention_bias":true"#, "attention_bias", "biases"),
        (#""hidden_act":"gelu""#, "hidden_act", "gelu"),
        (#""hidden_size":"576""#, "hidden_size", "not an integer"),
        (#""num_key_value_heads":4"#, "kv_heads", "does not divide"),
        (#""eos_token_id":[1,"x"]"#, "eos_token_id", "not an integer"),
    ]

    @Test("unsupported or invalid configurations are refused with the key named", arguments: refusals)
    func refusal(change: String, key: String, fragment: String) {
        // A repeated key takes its last value (as in Python), so appending overrides.
        let json = String(Self.smolLM2.dropLast(2)) + "," + change + "}"
        let error = #expect(throws: ModelIOError.self) {
            try HuggingFaceConfig(json: Array(json.utf8), path: "config.json")
        }
        #expect(error?.item == key, "\(error?.description ?? "")")
        #expect(error?.message.contains(fragment) == true, "\(error?.description ?? "")")
    }

    @Test("seeded mutations of config.json either parse or throw ModelIOError, never trap")
    func mutationFuzz() {
        var rng = SplitMix64(seed: 77)
        let original = Array(Self.smolLM2.utf8)
        let alphabet = Array("{}[]\",:-.0123456789eEtrufalsn \\u".utf8)
        var parsed = 0
        for _ in 0..<3000 {
            var bytes = original
            for _ in 0..<(1 + Int(rng.next() % 3)) {
                let position = Int(rng.next() % UInt64(bytes.count))
                switch rng.next() % 3 {
                case 0: bytes[position] = alphabet[Int(rng.next() % UInt64(alphabet.count))]
                case 1: bytes.remove(at: position)
                default: bytes.insert(alphabet[Int(rng.next() % UInt64(alphabet.count))], at: position)
                }
            }
            do {
                _ = try HuggingFaceConfig(json: bytes, path: "config.json")
                parsed += 1
            } catch {
                #expect(error.path == "config.json")
            }
        }
        #expect(parsed > 0 && parsed < 3000)
    }

    @Test("a missing required key is named")
    func missingKey() {
        let json = Self.smolLM2.replacingOccurrences(of: "\"intermediate_size\": 1536,", with: "")
        let error = #expect(throws: ModelIOError.self) {
            try HuggingFaceConfig(json: Array(json.utf8), path: "config.json")
        }
        #expect(error?.item == "intermediate_size")
    }
}
