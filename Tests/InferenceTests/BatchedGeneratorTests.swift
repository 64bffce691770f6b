import Foundation
import Inference
import ModelIO
import TestSupport
import Testing

/// Batched self-generation: token-for-token the same windows as the sequential `Generator` loop.
@Suite("Batched generation")
struct BatchedGeneratorTests {
    @Test("tiny model: batched windows equal the sequential ones, across EOS restarts")
    func tinyMatchesSequential() throws {
        let model = try TinyModel.make()
        let eos = model.tokenizer.vocabulary.eosID
        var restarts = 0
        for (seed, temperature) in [(UInt64(1), Float(1)), (7, 4), (11, 0)] {
            let batched = try CalibrationSet.generated(
                by: model, samples: 12, seqlen: 40, seed: seed, temperature: temperature)
            let sequential = try CalibrationSet.generatedSequentially(
                by: model, samples: 12, seqlen: 40, seed: seed,
                temperature: temperature)
            #expect(batched == sequential, "seed \(seed), temperature \(temperature)")
            restarts += batched.windows.reduce(0) { $0 + $1.dropLast().filter { $0 == eos }.count }
        }
        // The comparison must have exercised a sequence restarting after EOS.
        #expect(restarts > 0)
    }

    @Test("samples beyond one batch are generated in chunks with the same result")
    func chunks() throws {
        let model = try TinyModel.make()
        let generator = try BatchedGenerator(model: model, batchSize: 5, length: 16)
        let starts = { (sequence: Int, segment: Int) in
            SegmentStart(
                token: Int32(sequence % 7),
                sampling: SamplingOptions(temperature: 1, seed: UInt64(sequence * 31 + segment)))
        }
        let all = try generator.generate(sequences: 5, segmentStart: starts)
        let lastTwo = try generator.generate(sequences: 2, segmentStart: { starts($0 + 3, $1) })
        #expect(Array(all[3...]) == lastTwo)
        #expect(all.allSatisfy { $0.count == 16 })
    }

    @Test("bad sizes and start tokens are refused")
    func errors() throws {
        let model = try TinyModel.make()
        #expect(throws: InferenceError.self) { try BatchedGenerator(model: model, batchSize: 0, length: 4) }
        #expect(throws: InferenceError.self) {
            try BatchedGenerator(model: model, batchSize: 1, length: model.config.contextLength)
        }
        let generator = try BatchedGenerator(model: model, batchSize: 2, length: 4)
        let fine = SegmentStart(token: 1, sampling: SamplingOptions())
        #expect(throws: InferenceError.self) { try generator.generate(sequences: 3, segmentStart: { _, _ in fine }) }
        #expect(throws: InferenceError.self) {
            try generator.generate(
                sequences: 1, segmentStart: { _, _ in SegmentStart(token: -1, sampling: SamplingOptions()) })
        }
        #expect(throws: InferenceError.self) {
            try generator.generate(
                sequences: 1,
                segmentStart: { _, _ in SegmentStart(token: 1, sampling: SamplingOptions(temperature: -1)) })
        }
    }

    @Test("SmolLM2: batched windows equal the sequential ones", .enabled(if: ReferenceData.hasModel))
    func smolMatchesSequential() throws {
        let model = try SmolLM2Loader.shared.get()
        let batched = try CalibrationSet.generated(by: model, samples: 4, seqlen: 48, seed: 5, temperature: 1)
        let sequential = try CalibrationSet.generatedSequentially(
            by: model, samples: 4, seqlen: 48, seed: 5, temperature: 1)
        for (index, (a, b)) in zip(batched.windows, sequential.windows).enumerated() {
            let firstDifference = a.indices.first { a[$0] != b[$0] }
            #expect(a == b, "sample \(index) differs from token \(firstDifference ?? -1)")
        }
    }

    @Test(
        "SmolLM2: every batched row's logits match a single-sequence forward pass", .enabled(if: ReferenceData.hasModel)
    )
    func smolLogitsMatchForwardPass() throws {
        let model = try SmolLM2Loader.shared.get()
        let generator = try BatchedGenerator(model: model, batchSize: 32, length: 24)
        var observed: [[Float]] = []
        generator.logitsObserver = { sequence, logits in if sequence == 29 { observed.append(Array(logits)) } }
        let outputs = try generator.generate(sequences: 32) { sequence, segment in
            SegmentStart(token: 1, sampling: SamplingOptions(temperature: 1, seed: UInt64(100 * sequence + segment)))
        }
        // Replay sequence 29 alone, one token at a time, as `Generator` does.
        let forward = try ForwardPass(model: model, capacity: 25)
        var input: Int32 = 1
        var worst: Float = 0
        for (step, token) in outputs[29].enumerated() {
            let expected = try forward.lastLogits(appending: [input])
            for (a, b) in zip(observed[step], expected) { worst = max(worst, abs(a - b)) }
            if token == model.tokenizer.vocabulary.eosID {
                forward.reset()
                input = 1
            } else {
                input = token
            }
        }
        #expect(observed.count == 24)
        #expect(worst < 1e-3, "largest logit difference \(worst)")
    }

    @Test(
        "SmolLM2: tokens per second, sequential vs batched (SHEARS_BENCH_GENERATION=samples,seqlen)",
        .enabled(if: ReferenceData.hasModel && ProcessInfo.processInfo.environment["SHEARS_BENCH_GENERATION"] != nil))
    func benchmark() throws {
        let model = try SmolLM2Loader.shared.get()
        let sizes = (ProcessInfo.processInfo.environment["SHEARS_BENCH_GENERATION"] ?? "").split(separator: ",")
            .compactMap { Int($0) }
        let samples = sizes.first ?? 32, seqlen = sizes.count > 1 ? sizes[1] : 256
        let clock = ContinuousClock()
        var batched: CalibrationSet?
        let batchedTime = try clock.measure {
            batched = try CalibrationSet.generated(by: model, samples: samples, seqlen: seqlen, seed: 0, temperature: 1)
        }
        var sequential: CalibrationSet?
        let sequentialTime = try clock.measure {
            sequential = try CalibrationSet.generatedSequentially(
                by: model, samples: samples, seqlen: seqlen, seed: 0, temperature: 1)
        }
        func rate(_ time: Duration) -> Double {
            Double(samples * seqlen) / (Double(time.components.seconds) + Double(time.components.attoseconds) * 1e-18)
        }
        // A larger batch runs other OpenBLAS kernels than one row, so a rounding difference can
        // flip a sampled token and the rest of that window; report the agreement instead.
        let pairs = zip(batched?.windows ?? [], sequential?.windows ?? [])
        let identical = pairs.filter { $0 == $1 }.count
        let agreeing = pairs.map { a, b in a.indices.first { a[$0] != b[$0] } ?? a.count }
        print(
            "generation \(samples)x\(seqlen): sequential \(sequentialTime) (\(rate(sequentialTime)) tok/s), batched \(batchedTime) (\(rate(batchedTime)) tok/s); \(identical)/\(samples) windows identical, first differences at \(agreeing)"
        )
        #expect(batched?.windows.count == samples)
    }
}
