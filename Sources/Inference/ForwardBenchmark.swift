import Foundation
import Kernels
import ModelIO

/// The rate of one sgemm shape, `[m, k] · [k, n]`, over several runs.
public struct SgemmMeasurement: Sendable, Equatable {
    /// Rows of the result.
    public var m: Int
    /// Columns of the result.
    public var n: Int
    /// Inner dimension.
    public var k: Int
    /// Median GFLOP/s over the runs.
    public var medianGFLOPS: Double
    /// Best GFLOP/s over the runs.
    public var bestGFLOPS: Double
}

/// What `ForwardBenchmark.run` measured in one process.
public struct ForwardBenchmarkReport: Sendable, Equatable {
    /// OpenBLAS kernel name (e.g. "SkylakeX").
    public var blasCore: String
    /// OpenBLAS thread count.
    public var blasThreads: Int
    /// The ISA the SIMD kernels dispatch to ("avx512", "avx2", "baseline").
    public var kernelISA: String
    /// sgemm rates on the model's own shapes: the MLP gate/up, down, q/o projections at `seqlen`
    /// rows and one LM-head block.
    public var sgemm: [SgemmMeasurement]
    /// The reference rate: the MLP gate/up shape (`seqlen × hidden` by `hidden × ffn`), timed
    /// right before every forward run so that both see the same machine load.
    public var referenceSgemm: SgemmMeasurement
    /// Tokens per prefill.
    public var seqlen: Int
    /// Seconds of each timed prefill-with-loss (`negativeLogLikelihoods`) run.
    public var runSeconds: [Double]
    /// Analytic FLOP count of one such run (all matrix products, causal attention, LM head).
    public var forwardFLOPs: Double
    /// Phase times of the median run.
    public var phaseTimes: ForwardPhaseTimes

    /// Median of `runSeconds`.
    public var medianSeconds: Double { runSeconds.sorted()[runSeconds.count / 2] }
    /// Prefill throughput of the median run.
    public var tokensPerSecond: Double { Double(seqlen) / medianSeconds }
    /// FLOP rate of the median run, in GFLOP/s.
    public var forwardGFLOPS: Double { forwardFLOPs / medianSeconds * 1e-9 }
    /// `forwardGFLOPS` as a fraction of the reference sgemm's median rate.
    public var fractionOfSgemm: Double { forwardGFLOPS / referenceSgemm.medianGFLOPS }

    /// A multi-line human-readable summary.
    public var summary: String {
        var lines = ["BLAS core \(blasCore), \(blasThreads) threads; kernels \(kernelISA)"]
        for s in [referenceSgemm] + sgemm {
            lines.append(
                String(
                    format: "sgemm %dx%d·%dx%d: median %.1f GFLOP/s, best %.1f GFLOP/s",
                    s.m, s.k, s.k, s.n, s.medianGFLOPS, s.bestGFLOPS))
        }
        lines.append(
            String(
                format: "prefill+loss of %d tokens: median %.3f s (%@ s), %.0f tokens/s",
                seqlen, medianSeconds, runSeconds.map { String(format: "%.3f", $0) }.joined(separator: ", "),
                tokensPerSecond))
        lines.append(
            String(
                format: "forward %.1f GFLOP, %.1f GFLOP/s = %.0f%% of the reference sgemm",
                forwardFLOPs * 1e-9, forwardGFLOPS, fractionOfSgemm * 100))
        let phases = phaseTimes.named.map { String(format: "%@ %.3f s", $0.name, $0.seconds) }
        lines.append("phases: " + phases.joined(separator: ", "))
        return lines.joined(separator: "\n")
    }
}

/// Speed measurements of the forward pass against OpenBLAS's own sgemm rate, in one process.
public enum ForwardBenchmark {
    /// Analytic FLOPs of `negativeLogLikelihoods` over `seqlen` tokens: every layer's
    /// (`layerFLOPs`), and the LM head on the `seqlen - 1` scored rows.
    public static func flopCount(_ config: LlamaConfig, seqlen: Int) -> Double {
        let layers = (0..<config.layerCount).reduce(0.0) { $0 + layerFLOPs(config, layer: $1, rows: seqlen) }
        return layers + 2 * Double(seqlen - 1) * Double(config.hiddenSize) * Double(config.vocabSize)
    }

    /// Analytic FLOPs of decoder layer `layer` over one sequence of `rows` tokens: 2·m·n·k for
    /// every matrix product — q/k/v/o and the three MLP projections (2 FLOPs per weight per
    /// token), attention's QKᵀ and PV over the causal triangle (query t sees t + 1 keys).
    public static func layerFLOPs(_ config: LlamaConfig, layer: Int, rows: Int) -> Double {
        let t = Double(rows), h = Double(config.hiddenSize)
        let queryWidth = Double(config.queryWidth(layer)), kvWidth = Double(config.kvWidth(layer))
        let projections = 2 * t * h * (2 * queryWidth + 2 * kvWidth)
        let mlp = 3 * 2 * t * h * Double(config.layers[layer].ffnSize)
        let attention = 2 * 2 * (t * (t + 1) / 2) * queryWidth
        return projections + mlp + attention
    }

    /// Times `sgemm` on an `[m, k] · [k, n]ᵀ`-stored product like the forward's (`runs` runs after a warm-up).
    public static func measureSgemm(m: Int, n: Int, k: Int, runs: Int = 5) -> SgemmMeasurement {
        summarise(m: m, n: n, k: k, rates: sgemmRates(m: m, n: n, k: k, runs: runs))
    }

    /// GFLOP/s of `runs` timed sgemms (after one untimed warm-up).
    private static func sgemmRates(m: Int, n: Int, k: Int, runs: Int) -> [Double] {
        let a = TensorStorage(count: m * k) { for i in $0.indices { $0[i] = Float(i % 7) * 0.01 } }
        let b = TensorStorage(count: n * k) { for i in $0.indices { $0[i] = Float(i % 5) * 0.01 } }
        let c = TensorStorage(zeros: m * n)
        var rates: [Double] = []
        for run in 0...runs {
            let start = DispatchTime.now().uptimeNanoseconds
            LinearAlgebra.linear(
                a.buffer.baseAddress!, rows: m, inputs: k, xStride: k, weight: b.buffer.baseAddress!,
                outputs: n, into: c.buffer.baseAddress!, yStride: n)
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9
            if run > 0 { rates.append(2 * Double(m) * Double(n) * Double(k) / seconds * 1e-9) }
        }
        return rates
    }

    private static func summarise(m: Int, n: Int, k: Int, rates: [Double]) -> SgemmMeasurement {
        let sorted = rates.sorted()
        return SgemmMeasurement(m: m, n: n, k: k, medianGFLOPS: sorted[sorted.count / 2], bestGFLOPS: sorted.last!)
    }

    /// Measures the sgemm rates on the model's shapes, then `runs` prefill-with-loss passes over
    /// the first `seqlen` of `tokens` (after one warm-up pass), each preceded by three timings of
    /// the reference sgemm.
    ///
    /// - Throws: `InferenceError` for fewer than `seqlen` tokens, `seqlen < 2`, `runs < 1`, or bad ids.
    public static func run(
        model: Model, tokens: [Int32], seqlen: Int = 2048, runs: Int = 3
    ) throws(InferenceError)
        -> ForwardBenchmarkReport
    {
        guard seqlen >= 2 else { throw InferenceError("benchmark seqlen \(seqlen) must be at least 2") }
        guard runs >= 1 else { throw InferenceError("benchmark run count \(runs) must be at least 1") }
        guard tokens.count >= seqlen else {
            throw InferenceError("benchmark needs \(seqlen) tokens, got \(tokens.count)")
        }
        let c = model.config
        let ffn = max(1, c.maxFFNSize)
        let shapes = [
            (seqlen, ffn, c.hiddenSize), (seqlen, c.hiddenSize, ffn),
            (seqlen, max(1, c.maxQueryWidth), c.hiddenSize),
            (min(seqlen, ForwardPass.headBlock), c.vocabSize, c.hiddenSize),
        ]
        let sgemm = shapes.map { measureSgemm(m: $0.0, n: $0.1, k: $0.2) }
        let chunk = Array(tokens.prefix(seqlen))
        let forward = try ForwardPass(model: model, capacity: seqlen)
        _ = try forward.negativeLogLikelihoods(chunk)
        var timings: [(seconds: Double, phases: ForwardPhaseTimes)] = []
        var referenceRates: [Double] = []
        for _ in 0..<runs {
            referenceRates += sgemmRates(m: seqlen, n: ffn, k: c.hiddenSize, runs: 3)
            forward.phaseTimes = ForwardPhaseTimes()
            let start = DispatchTime.now().uptimeNanoseconds
            _ = try forward.negativeLogLikelihoods(chunk)
            timings.append((Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9, forward.phaseTimes))
        }
        let median = timings.sorted { $0.seconds < $1.seconds }[timings.count / 2]
        return ForwardBenchmarkReport(
            blasCore: blasCoreName(), blasThreads: blasThreadCount(),
            kernelISA: String(cString: shears_isa_name(shears_forward_isa())), sgemm: sgemm,
            referenceSgemm: summarise(m: seqlen, n: ffn, k: c.hiddenSize, rates: referenceRates), seqlen: seqlen,
            runSeconds: timings.map(\.seconds), forwardFLOPs: flopCount(c, seqlen: seqlen), phaseTimes: median.phases)
    }
}
