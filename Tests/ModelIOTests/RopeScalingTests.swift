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

    @Test("GGUF: an unsupported rope.scaling.type or a wrong-sized rope_freqs is refused naming it")
    func ggufRefusals() throws {
        let directory = try TemporaryDirectory()
        let model = try TinyModel.make(seed: 2)
        var metadata = model.metadata
        metadata["llama.rope.scaling.type"] = .string("yarn")
        let yarn = directory.path("yarn.gguf")
        try GGUFWriter.write(
            metadata: metadata, tensors: model.tensors.map { GGUFWriter.Entry(tensor: $0, type: .f32) }, to: yarn)
        let error = #expect(throws: ModelIOError.self) { try GGUFModelReader.load(try GGUFFile(path: yarn)) }
        #expect(error?.item == "llama.rope.scaling.type" && error?.message.contains("'yarn'") == true)

        let factors = Tensor(name: LlamaTensorNames.ropeFrequencies, shape: [3], storage: TensorStorage([1, 2, 3]))
        let short = directory.path("short.gguf")
        try GGUFWriter.write(
            metadata: model.metadata,
            tensors: ([factors] + model.tensors).map { GGUFWriter.Entry(tensor: $0, type: .f32) }, to: short)
        let shortError = #expect(throws: ModelIOError.self) { try GGUFModelReader.load(try GGUFFile(path: short)) }
        #expect(shortError?.item == LlamaTensorNames.ropeFrequencies, "\(shortError?.description ?? "")")
    }
}
