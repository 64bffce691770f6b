import Foundation
import ModelIO
import TestSupport
import Testing

/// RoPE scaling and the sliding window through GGUF: written as llama.cpp reads them, read back.
@Suite struct RopeScalingTests {
    static let llama3 = RopeScaling.llama3(
        factor: 8, lowFrequencyFactor: 1, highFrequencyFactor: 4, originalContextLength: 64)

    @Test("llama3 divisors: 1 for short wavelengths, the factor for long ones, interpolated between")
    func llama3Divisors() throws {
        // head_dim 8, base 10000: wavelengths 2π·10000^(i/4) = 6.3, 62.8, 628, 6283; the band is 16...64.
        let divisors = try #require(Self.llama3.divisors(headDim: 8, base: 10000))
        #expect(divisors.count == 4)
        #expect(divisors[0] == 1 && divisors[2] == 8 && divisors[3] == 8)
        let smooth = (64 / (2 * Double.pi * 10) - 1) / 3
        let expected = 1 / ((1 - smooth) / 8 + smooth)
        #expect(abs(Double(divisors[1]) - expected) < 1e-6, "\(divisors[1]) vs \(expected)")
        #expect(RopeScaling.linear(factor: 2).divisors(headDim: 8, base: 10000) == [2, 2, 2, 2])
        #expect(RopeScaling.none.divisors(headDim: 8, base: 10000) == nil)
    }

    static let yarn = RopeScaling.yarn(
        factor: 4, originalContextLength: 64, betaFast: 32, betaSlow: 1,
        attentionFactor: RopeScaling.yarnAttentionFactor(4))

    @Test("yarn divisors: the ramp between the correction dimensions of 32 and 1 rotations; attention factor")
    func yarnDivisors() throws {
        // head_dim 8, base 10000, 64 positions: frequency index 8·ln(64/(2π·r))/(2·ln 10000) turns r times:
        // -0.50 for 32 rotations (floored, clamped to 0), 1.01 for one (ceiled to 2). Index 0 keeps its
        // frequency, 1 is half kept (1 / (0.5/4 + 0.5) = 1.6), 2 and 3 are divided by the factor.
        let divisors = try #require(Self.yarn.divisors(headDim: 8, base: 10000))
        #expect(divisors == [1, 1.6, 4, 4])
        #expect(abs(Self.yarn.attentionFactor - Float(1 + 0.1 * log(4.0))) < 1e-7)
        #expect(
            RopeScaling.yarnAttentionFactor(0.5) == 1
                && RopeScaling.llama3(
                    factor: 8, lowFrequencyFactor: 1, highFrequencyFactor: 4, originalContextLength: 64
                ).attentionFactor == 1)
        // Equal correction dimensions: transformers widens the ramp by 0.001 (a step at the index).
        let step = RopeScaling.yarn(factor: 2, originalContextLength: 7, betaFast: 2, betaSlow: 1, attentionFactor: 1)
        #expect(try #require(step.divisors(headDim: 8, base: 10000)) == [1, 2, 2, 2])
    }

    @Test("GGUF: yarn is rope.scaling keys (attn_factor only for a non-default attention factor)")
    func ggufYarn() throws {
        let directory = try TemporaryDirectory()
        for attention in [RopeScaling.yarnAttentionFactor(4), 1.5] {
            var config = TinyModel.config
            config.attentionBiases = true
            config.ropeScaling = .yarn(
                factor: 4, originalContextLength: 64, betaFast: 32, betaSlow: 1, attentionFactor: attention)
            let model = try TinyModel.make(config, seed: 2)
            let path = directory.path("yarn-\(attention).gguf")
            try ModelWriter.write(model, to: path, type: .f32)
            let file = try GGUFFile(path: path)
            #expect(file.metadata["qwen2.rope.scaling.type"]?.string == "yarn")
            #expect(file.metadata["qwen2.rope.scaling.factor"]?.double == 4)
            #expect(file.metadata["qwen2.rope.scaling.original_context_length"]?.int == 64)
            let extra = file.metadata["qwen2.rope.scaling.attn_factor"]?.double
            #expect(attention == 1.5 ? abs(extra! * 1.1386294 - 1.5) < 1e-6 : extra == nil)
            let read = try GGUFModelReader.load(file)
            guard case .yarn(4, 64, 32, 1, let back) = read.config.ropeScaling else {
                Issue.record("read back as \(read.config.ropeScaling)")
                continue
            }
            #expect(abs(back - attention) < 1e-6)
        }
    }

    @Test("GGUF: llama3 becomes rope_freqs.weight, linear the rope.scaling keys, the window its key")
    func ggufRoundTrip() throws {
        let directory = try TemporaryDirectory()
        for scaling in [Self.llama3, .linear(factor: 4)] {
            var config = TinyModel.config
            config.ropeScaling = scaling
            config.slidingWindow = 16
            let model = try TinyModel.make(config, seed: 2)
            let path = directory.path("scaled.gguf")
            try ModelWriter.write(model, to: path, type: .f32)
            let file = try GGUFFile(path: path)
            let read = try GGUFModelReader.load(file)
            #expect(file.metadata["llama.attention.sliding_window"]?.int == 16)
            #expect(read.config.slidingWindow == 16)
            #expect(read.tensor(LlamaTensorNames.ropeFrequencies) == nil)
            #expect(read.tensors.count == model.tensors.count)
            if case .linear = scaling {
                #expect(file.metadata["llama.rope.scaling.type"]?.string == "linear")
                #expect(file.metadata["llama.rope.scaling.factor"]?.double == 4)
                #expect(file.tensorInfo(named: LlamaTensorNames.ropeFrequencies) == nil)
                #expect(read.config.ropeScaling == scaling)
            } else {
                #expect(file.metadata["llama.rope.scaling.type"] == nil)
                #expect(file.tensors.first?.name == LlamaTensorNames.ropeFrequencies)
                let divisors = try #require(scaling.divisors(headDim: config.headDim, base: config.ropeTheta))
                #expect(read.config.ropeScaling == .frequencyFactors(divisors))
                // Written again, the factors stay; config.json cannot hold them.
                try ModelWriter.write(read, to: directory.path("again.gguf"), type: .f32)
                let again = try GGUFModelReader.load(try GGUFFile(path: directory.path("again.gguf")))
                #expect(again.config == read.config)
                let error = #expect(throws: ModelIOError.self) {
                    try ModelWriter.write(read, to: directory.path("hf"), type: .f32)
                }
                #expect(error?.item == "rope_scaling", "\(error?.description ?? "")")
            }
        }
    }

    @Test("GGUF: unsupported scaling types and keys, stray yarn keys and wrong-sized rope_freqs are refused")
    func ggufRefusals() throws {
        let directory = try TemporaryDirectory()
        let model = try TinyModel.make(seed: 2)
        let cases: [([(String, GGUFValue)], String, String)] = [
            ([("type", .string("longrope"))], "type", "'longrope' is not supported"),
            (
                [("type", .string("yarn")), ("factor", .float32(4)), ("yarn_beta_fast", .float32(16))],
                "yarn_beta_fast", "ignores this key and runs 32.0"
            ),
            (
                [("type", .string("yarn")), ("factor", .float32(4)), ("yarn_attn_factor", .float32(1))],
                "yarn_attn_factor", "ignores this key"
            ),
            ([("attn_factor", .float32(2))], "attn_factor", "without YaRN scaling is not supported"),
        ]
        for (keys, item, message) in cases {
            var metadata = model.metadata
            for (key, value) in keys { metadata["llama.rope.scaling.\(key)"] = value }
            let path = directory.path("\(item).gguf")
            try GGUFWriter.write(
                metadata: metadata, tensors: model.tensors.map { GGUFWriter.Entry(tensor: $0, type: .f32) }, to: path)
            let error = #expect(throws: ModelIOError.self) { try GGUFModelReader.load(try GGUFFile(path: path)) }
            #expect(error?.item == "llama.rope.scaling.\(item)", "\(error?.description ?? "")")
            #expect(error?.message.contains(message) == true, "\(error?.description ?? "")")
        }

        // YaRN with other betas runs in Shears but not in llama.cpp: no GGUF is written.
        var config = TinyModel.config
        config.ropeScaling = .yarn(factor: 4, originalContextLength: 64, betaFast: 16, betaSlow: 2, attentionFactor: 1)
        let betas = directory.path("betas.gguf")
        let betaError = #expect(throws: ModelIOError.self) {
            try ModelWriter.write(try TinyModel.make(config, seed: 2), to: betas, type: .f32)
        }
        #expect(betaError?.message.contains("llama.cpp's llama graph runs only 32 and 1") == true)
        #expect(!FileManager.default.fileExists(atPath: betas))

        let factors = Tensor(name: LlamaTensorNames.ropeFrequencies, shape: [3], storage: TensorStorage([1, 2, 3]))
        let short = directory.path("short.gguf")
        try GGUFWriter.write(
            metadata: model.metadata,
            tensors: ([factors] + model.tensors).map { GGUFWriter.Entry(tensor: $0, type: .f32) }, to: short)
        let shortError = #expect(throws: ModelIOError.self) { try GGUFModelReader.load(try GGUFFile(path: short)) }
        #expect(shortError?.item == LlamaTensorNames.ropeFrequencies, "\(shortError?.description ?? "")")
    }
}
