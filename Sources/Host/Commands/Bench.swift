import ArgumentParser
import BuiltinMethods
import Foundation
import Inference
import ModelIO
import PruningEngine
import Recipes

/// `shears bench MODEL`: forward-pass speed against the BLAS sgemm rate measured in the same run.
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Benchmark the forward pass: prefill tokens/s, sgemm GFLOP/s, fraction of sgemm, phases, peak RSS.",
        discussion: """
            Runs one warm-up and then RUNS prefill-with-loss passes over SEQLEN tokens of the text \
            (or of repeated token ids when no text is given), timing the BLAS sgemm on the model's \
            own shapes in the same process, so that the ratio is meaningful on a shared machine. \
            Build with `swift build -c release` for meaningful figures.
            """)

    @OptionGroup var source: ModelArgument

    @Option(
        name: [.long, .customShort("f"), .customLong("file")], help: "Text to run on (default: synthetic ids).",
        completion: .file())
    var text: String?

    @OptionGroup var textOptions: TextOptions

    @Option(name: [.long, .customShort("c")], help: "Tokens per pass.")
    var seqlen = 2048

    @Option(help: "Timed passes (the median is reported).")
    var runs = 3

    @Flag(help: "Print one JSON object.")
    var json = false

    @Flag(
        help: "Also time the pruning kernels (scores, selection, masks, statistics) next to a memory-bandwidth probe.")
    var kernels = false

    func validate() throws {
        guard seqlen >= 2 else { throw ValidationError("--seqlen must be at least 2") }
        guard runs >= 1 else { throw ValidationError("--runs must be at least 1") }
    }

    func run() throws {
        let model = try source.load()
        var tokens: [Int32]
        if let text {
            tokens = try textOptions.encode(text, for: model)
        } else {
            let vocabulary = Int32(model.config.vocabSize)
            tokens = (0..<seqlen).map { Int32(truncatingIfNeeded: $0 &* 7919 &+ 13) % vocabulary }
        }
        if tokens.count < seqlen {
            throw CommandFailure.badInput("\(text ?? "text"): \(tokens.count) tokens is less than --seqlen \(seqlen)")
        }
        let report = try ForwardBenchmark.run(model: model, tokens: tokens, seqlen: seqlen, runs: runs)
        let peak = peakResidentBytes()
        if kernels, !json { print(PruneKernelBenchmark.run().summary) }
        if json {
            try JSONOutput.print(BenchReport(report, peakRSS: peak))
        } else {
            print(report.summary)
            print("peak RSS          \(Format.bytes(peak))")
        }
    }
}

/// The JSON object `bench --json` prints.
private struct BenchReport: Encodable {
    let blasCore: String
    let kernelIsa: String
    let seqlen: Int
    let medianSeconds: Double
    let tokensPerSecond: Double
    let forwardGflops: Double
    let sgemmGflops: Double
    let fractionOfSgemm: Double
    let phases: [String: Double]
    let peakRssBytes: Int

    init(_ report: ForwardBenchmarkReport, peakRSS: Int) {
        blasCore = report.blasCore
        kernelIsa = report.kernelISA
        seqlen = report.seqlen
        medianSeconds = report.medianSeconds
        tokensPerSecond = report.tokensPerSecond
        forwardGflops = report.forwardGFLOPS
        sgemmGflops = report.sgemm[0].medianGFLOPS
        fractionOfSgemm = report.fractionOfSgemm
        phases = Dictionary(uniqueKeysWithValues: report.phaseTimes.named.map { ($0.name, $0.seconds) })
        peakRssBytes = peakRSS
    }
}
