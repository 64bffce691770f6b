import Dispatch
import Foundation
import Inference
import ModelIO
import TestSupport
import Testing

/// The gradient benchmark `Scripts/bench-gradients.sh` runs (only with `SHEARS_BENCH_GRADIENTS=1`
/// and the model present): forward alone vs forward + backward (`ModelGradients.weights`) on one
/// 2048-token window and on 8 windows of 512, the sgemm rate in the same process, peak RSS, and
/// PyTorch autograd on the same windows when the reference environment exists.
@Suite struct GradientBenchmarkTests {
    /// Whether the benchmark was asked for and can run.
    static var enabled: Bool {
        ProcessInfo.processInfo.environment["SHEARS_BENCH_GRADIENTS"] == "1" && ReferenceData.hasModel
            && ReferenceData.hasData
    }

    /// Seconds `body` takes.
    static func seconds(_ body: () throws -> Void) rethrows -> Double {
        let start = DispatchTime.now().uptimeNanoseconds
        try body()
        return Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9
    }

    @Test("forward vs forward + backward, sgemm rate, peak RSS", .enabled(if: enabled))
    func benchmark() throws {
        let model = try SmolLM2Loader.shared.get()
        let c = model.config
        let ids = try ReferenceData.int32s("wikitext2-test.smollm2-ids.i32")
        let sgemm = ForwardBenchmark.measureSgemm(m: 2048, n: c.maxFFNSize, k: c.hiddenSize)
        print(
            "sgemm 2048x\(c.maxFFNSize)x\(c.hiddenSize): \(String(format: "%.1f", sgemm.medianGFLOPS)) GFLOP/s median")
        for (label, windows) in [
            ("1x2048", [Array(ids.prefix(2048))]),
            ("8x512", (0..<8).map { Array(ids[($0 * 512)..<(($0 + 1) * 512)]) }),
        ] {
            let forward = try ForwardPass(model: model, capacity: windows[0].count)
            let gradients = ModelGradients(model: model)
            let kept = gradients.keptLayers(
                windows: windows, fisher: false, order: gradients.cheapestOrder(windows: windows, fisher: false),
                keepActivations: false)
            var forwardTimes: [Double] = [], backwardTimes: [Double] = [], leanTimes: [Double] = []
            var keptTimes: [Double] = []
            for _ in 0..<3 {
                forwardTimes.append(try Self.seconds { for w in windows { _ = try forward.negativeLogLikelihoods(w) } })
                backwardTimes.append(try Self.seconds { _ = try gradients.weights(windows: windows) { _ in } })
                leanTimes.append(
                    try Self.seconds { _ = try gradients.weights(windows: windows, keptLayers: 0) { _ in } })
                keptTimes.append(
                    try Self.seconds { _ = try gradients.weights(windows: windows, keepActivations: true) { _ in } })
            }
            let f = forwardTimes.sorted()[1], b = backwardTimes.sorted()[1], k = keptTimes.sorted()[1]
            let l = leanTimes.sorted()[1]
            func figure(_ seconds: Double) -> String {
                String(format: "%.2f s (ratio %.2f)", seconds, seconds / f)
            }
            print(
                "\(label): forward \(String(format: "%.2f", f)) s, forward+backward \(figure(b)) with \(kept) of "
                    + "\(c.layerCount) records kept (default), \(figure(l)) recomputing all, \(figure(k)) keeping all; "
                    + "peak RSS \(peakResidentBytes() / 1_000_000) MB")
            #expect(b > f && k > f && l > f)
        }
    }
}
