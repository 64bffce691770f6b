import Foundation
import Inference
import ModelIO
import TestSupport
import Testing

@Suite struct ForwardBenchmarkTests {
    @Test("the analytic FLOP count adds up the products term by term")
    func flopCount() {
        let c = TinyModel.config // hidden 32, 4 heads of 8, 2 KV heads, ffn 48, vocab 300, 2 layers
        let t = 10.0
        let perLayer = 2 * t * 32 * (32 + 16 + 16) + 2 * t * 32 * 32 + 6 * t * 32 * 48 + 4 * (t * (t + 1) / 2) * 8 * 4
        #expect(ForwardBenchmark.flopCount(c, seqlen: 10) == 2 * perLayer + 2 * 9 * 32 * 300)
    }

    @Test("a benchmark on a tiny model reports consistent figures")
    func tinyReport() throws {
        let model = try TinyModel.make()
        let tokens = (0..<64).map { Int32($0 * 7 % 300) }
        let report = try ForwardBenchmark.run(model: model, tokens: tokens, seqlen: 64, runs: 3)
        #expect(report.runSeconds.count == 3 && report.runSeconds.allSatisfy { $0 > 0 })
        #expect(report.sgemm.count == 4 && report.sgemm.allSatisfy { $0.bestGFLOPS >= $0.medianGFLOPS })
        #expect(report.phaseTimes.total > 0 && report.phaseTimes.total <= report.medianSeconds * 1.5)
        #expect(!report.blasCore.isEmpty)
        #expect(throws: InferenceError.self) { try ForwardBenchmark.run(model: model, tokens: tokens, seqlen: 65) }
    }

    /// Prints the real-model report; run with `SHEARS_BENCHMARK=1`.
    @Test(.enabled(if: ProcessInfo.processInfo.environment["SHEARS_BENCHMARK"] == "1" && ReferenceData.hasModel))
    func smolLM2Report() throws {
        let model = try SmolLM2Loader.shared.get()
        let tokens = try ReferenceData.int32s("wikitext2-test.smollm2-ids.i32")
        let report = try ForwardBenchmark.run(model: model, tokens: tokens, seqlen: 2048, runs: 3)
        print(report.summary)
        #expect(report.fractionOfSgemm > 0)
    }
}
