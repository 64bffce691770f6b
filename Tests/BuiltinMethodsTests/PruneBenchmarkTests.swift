import BuiltinMethods
import Foundation
import Inference
import PruningEngine
import TestSupport
import Testing

/// The benchmark APIs: the kernel microbenchmark always (small, checks it reports sane numbers),
/// the full SmolLM2 prune benchmarks with `SHEARS_BENCH_PRUNE=1` (prints the summaries).
@Suite(.serialized) struct PruneBenchmarkTests {
    static var benchmarking: Bool { ProcessInfo.processInfo.environment["SHEARS_BENCH_PRUNE"] == "1" }

    @Test("kernel microbenchmark reports every kernel next to the memory probe")
    func kernels() {
        let report = PruneKernelBenchmark.run(rows: 64, columns: 64, runs: 3)
        print(report.summary)
        #expect(report.kernels.count == 7)
        #expect(report.memoryGigabytesPerSecond > 0 && report.memoryGigabytesPerSecond.isFinite)
        #expect(report.kernels.allSatisfy { $0.seconds > 0 && $0.gigabytesPerSecond.isFinite })
    }

    @Test("layer FLOPs count the seven products and causal attention, per layer shape")
    func flops() throws {
        let config = TinyModel.config
        let linear = 2 * 32 * 32 + 2 * 32 * 16 + 3 * 32 * 48
        #expect(ForwardBenchmark.layerFLOPs(config, layer: 0, rows: 4) == Double(2 * linear * 4) + 2 * 2 * 10 * 32)
        let model = try TinyModel.make()
        try model.remove(.kvGroups(layer: 1, [0]))
        try model.remove(.ffn(layer: 0))
        let narrow = 2 * 32 * 16 + 2 * 32 * 8 + 3 * 32 * 48
        #expect(
            ForwardBenchmark.layerFLOPs(model.config, layer: 1, rows: 4) == Double(2 * narrow * 4) + 2 * 2 * 10 * 16)
        #expect(
            ForwardBenchmark.layerFLOPs(model.config, layer: 0, rows: 4)
                == Double(2 * (2 * 32 * 32 + 2 * 32 * 16) * 4) + 2 * 2 * 10 * 32)
    }

    @Test(
        "SmolLM2 Wanda and SparseGPT prune benchmarks",
        .enabled(if: benchmarking && ReferenceData.hasModel && ReferenceData.hasData))
    func smolLM2() throws {
        print(PruneKernelBenchmark.run().summary)
        let calibration = try SmolLM2Fixtures.calibration()
        for (name, steps) in [
            ("wanda", try PruneMethod.wanda(sparsity: 0.5)),
            ("sparsegpt", try PruneMethod.sparseGPT(sparsity: 0.5)),
        ] {
            let report = try PruneBenchmark.run(
                model: try SmolLM2Fixtures.model(), steps: steps, calibration: calibration)
            print("\(name):\n\(report.summary)")
            #expect(report.prune.seconds > 0)
        }
    }
}
