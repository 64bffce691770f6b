import Inference
import ModelIO
import TestSupport
import Testing

@Suite struct GeneratorTests {
    static let prompt: [Int32] = [72, 101, 108, 108, 111]

    @Test("greedy generation follows the argmax of the full forward pass")
    func greedyMatchesPrefill() throws {
        let model = try TinyModel.make()
        let output = try Generator(model: model).generate(prompt: Self.prompt, maxTokens: 10)
        #expect(output.count == 10)
        // Re-derive every choice from a fresh prefill of prompt + the tokens chosen so far.
        var sequence = Self.prompt
        for token in output {
            let logits = try ForwardPass(model: model, capacity: sequence.count).lastLogits(appending: sequence)
            #expect(Int(token) == logits.indices.max { logits[$0] < logits[$1] })
            sequence.append(token)
        }
    }

    @Test("sampling is reproducible for a seed, and top-k 1 is greedy")
    func seededSampling() throws {
        let model = try TinyModel.make()
        let generator = Generator(model: model)
        let hot = SamplingOptions(temperature: 1.5, topK: 50, topP: 0.95, seed: 42)
        let first = try generator.generate(prompt: Self.prompt, maxTokens: 20, sampling: hot)
        #expect(try generator.generate(prompt: Self.prompt, maxTokens: 20, sampling: hot) == first)
        var other = hot
        other.seed = 43
        #expect(try generator.generate(prompt: Self.prompt, maxTokens: 20, sampling: other) != first)
        let greedy = try generator.generate(prompt: Self.prompt, maxTokens: 20)
        #expect(greedy != first)
        let topOne = SamplingOptions(temperature: 0.8, topK: 1, seed: 7)
        #expect(try generator.generate(prompt: Self.prompt, maxTokens: 20, sampling: topOne) == greedy)
        let tinyP = SamplingOptions(temperature: 0.8, topP: 1e-6, seed: 9)
        #expect(try generator.generate(prompt: Self.prompt, maxTokens: 20, sampling: tinyP) == greedy)
    }

    @Test("the callback streams tokens and can stop early")
    func streamingAndStop() throws {
        let model = try TinyModel.make()
        var streamed: [Int32] = []
        let output = try Generator(model: model).generate(prompt: Self.prompt, maxTokens: 10) { token in
            streamed.append(token)
            return streamed.count < 4
        }
        #expect(output.count == 4 && streamed == output)
        #expect(try Generator(model: model).generate(prompt: Self.prompt, maxTokens: 0).isEmpty)
    }

    @Test("bad arguments throw clear errors")
    func badArguments() throws {
        let model = try TinyModel.make()
        let generator = Generator(model: model)
        #expect(throws: InferenceError("the prompt is empty")) { try generator.generate(prompt: [], maxTokens: 3) }
        #expect(throws: InferenceError.self) { try generator.generate(prompt: Self.prompt, maxTokens: -1) }
        #expect(throws: InferenceError.self) { try generator.generate(prompt: Self.prompt, maxTokens: 252) }
        #expect(throws: InferenceError.self) { try generator.generate(prompt: [1, 999], maxTokens: 3) }
        for bad in [
            SamplingOptions(temperature: -1), SamplingOptions(temperature: .nan), SamplingOptions(topK: -2),
            SamplingOptions(topP: 0), SamplingOptions(topP: 1.5),
        ] {
            #expect(throws: InferenceError.self) {
                try generator.generate(prompt: Self.prompt, maxTokens: 3, sampling: bad)
            }
        }
    }
}
