import Foundation
import Inference
import Kernels
import ModelIO

/// What `PruneBenchmark.run` measured in one process: the prune's phases next to the sgemm rate
/// of the same machine at the same time.
public struct PruneBenchmarkReport: Sendable {
    /// OpenBLAS kernel name and thread count; the ISA the pruning kernels dispatch to.
    public var blasCore: String, blasThreads: Int, kernelISA: String
    /// The sgemm rate of the MLP gate/up shape at one calibration window's rows, measured just
    /// before the prune.
    public var sgemm: SgemmMeasurement
    /// The prune's own report (per-layer sparsity, errors, phase times).
    public var prune: PruneReport
    /// Analytic FLOPs of all layer forwards the prune ran (matrix products and causal attention).
    public var forwardFLOPs: Double
    /// Peak resident memory of the process so far, in bytes.
    public var peakResidentBytes: Int

    /// Forward GFLOP/s: `forwardFLOPs / prune.times.forwards`.
    public var forwardGFLOPS: Double { forwardFLOPs / max(prune.times.forwards, 1e-9) * 1e-9 }
    /// The forwards' rate as a fraction of the sgemm rate.
    public var fractionOfSgemm: Double { forwardGFLOPS / sgemm.medianGFLOPS }
    /// The share of the prune's time that is not layer forwards.
    public var nonForwardFraction: Double { 1 - prune.times.forwards / max(prune.seconds, 1e-9) }

    /// A few lines for a terminal or a log.
    public var summary: String {
        let t = prune.times
        return """
            BLAS \(blasCore) × \(blasThreads) threads, prune kernels \(kernelISA)
            sgemm \(sgemm.m)×\(sgemm.k)·\(sgemm.k)×\(sgemm.n): \(String(format: "%.1f", sgemm.medianGFLOPS)) GFLOP/s
            prune \(String(format: "%.2f", prune.seconds)) s: forwards \(String(format: "%.2f", t.forwards)) s \
            (\(String(format: "%.1f", forwardGFLOPS)) GFLOP/s, \(String(format: "%.0f", 100 * fractionOfSgemm))% of sgemm), \
            statistics \(String(format: "%.2f", t.statistics)) s, selection \(String(format: "%.2f", t.selection)) s, \
            reconstruction \(String(format: "%.2f", t.reconstruction)) s; not forwards \
            \(String(format: "%.1f", 100 * nonForwardFraction))%
            sparsity \(String(format: "%.4f", prune.sparsity)), peak RSS \(peakResidentBytes / 1_000_000) MB
            """
    }
}

/// Times a prune and relates its forwards to the machine's sgemm rate (for `Scripts/bench-prune.sh`).
public enum PruneBenchmark {
    /// Prunes `model` with `steps` on `calibration`, measuring sgemm first.
    ///
    /// - Throws: `PruneError` from the prune.
    public static func run(
        model: Model, steps: [any PruneStep], calibration: [[Int32]], options: PruneOptions = PruneOptions()
    ) throws(PruneError) -> PruneBenchmarkReport {
        let config = model.config
        let rows = calibration.map(\.count).max() ?? 512
        let sgemm = ForwardBenchmark.measureSgemm(m: rows, n: max(1, config.maxFFNSize), k: config.hiddenSize)
        let report = try Pruner(model: model, steps: steps, options: options).run(calibration: calibration)
        // Every layer up to the last pruned one runs once; pruned layers run twice (dense, pruned).
        let lastLayer = report.layers.last.map(\.layer) ?? -1
        func layerFLOPs(_ layer: Int) -> Double {
            calibration.reduce(0.0) { $0 + ForwardBenchmark.layerFLOPs(config, layer: layer, rows: $1.count) }
        }
        let forwardFLOPs =
            report.calibrationWindows == 0
            ? 0
            : (0...max(lastLayer, 0)).reduce(0.0) { $0 + layerFLOPs($1) }
                + report.layers.reduce(0.0) { $0 + layerFLOPs($1.layer) }
        return PruneBenchmarkReport(
            blasCore: blasCoreName(), blasThreads: blasThreadCount(),
            kernelISA: String(cString: shears_isa_name(shears_prune_isa())), sgemm: sgemm, prune: report,
            forwardFLOPs: forwardFLOPs, peakResidentBytes: peakResidentBytes())
    }
}
