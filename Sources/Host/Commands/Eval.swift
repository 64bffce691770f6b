import ArgumentParser
import Foundation
import Inference
import ModelIO
import Recipes

/// `shears eval MODEL --text FILE`: perplexity with the Wanda/SparseGPT protocol, or a
/// comparison against a base model (`--base`).
struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure a model's perplexity on a text, or compare it with a base model.",
        discussion: """
            Perplexity follows the protocol of the Wanda and SparseGPT reference code: the whole text \
            is tokenized (no BOS), cut into non-overlapping chunks of SEQLEN tokens (the remainder is \
            dropped), each chunk is one independent sequence, and the perplexity is exp of the mean \
            over chunks of each chunk's mean next-token loss.

            With --base, the protocol of llama-perplexity --kl-divergence: the same chunks, only the \
            second half of each scored; KL divergence from the base, same-top-token share, Δp and \
            both perplexities (see docs/evaluation.md). BASE is a model or a llama.cpp \
            --kl-divergence-base file (which also holds the tokens: give no --text then).
            """)

    @OptionGroup var source: ModelArgument

    @Option(
        name: [.long, .customShort("f"), .customLong("file")],
        help: "The UTF-8 text to evaluate on.", completion: .file())
    var text: String?

    @Option(help: "Token ids (int32 little-endian) to evaluate on, instead of --text.", completion: .file())
    var ids: String?

    @OptionGroup var textOptions: TextOptions

    @Option(
        name: [.long, .customShort("c"), .customLong("ctx-size")],
        help: "Tokens per chunk (default 2048; a base file's own with --base FILE).")
    var seqlen: Int?

    @Option(help: "Evaluate only the first K chunks.")
    var chunks: Int?

    @Option(
        help: "Compare with this base: a model, or a llama.cpp --kl-divergence-base file.",
        completion: .file())
    var base: String?

    @Option(
        name: .customLong("save-base"),
        help: "With --base MODEL: also write the base's log-probabilities to this llama.cpp file.",
        completion: .file())
    var saveBase: String?

    @Option(
        help: "Multiple-choice tasks (JSONL: context, choices, gold) to score instead of perplexity.",
        completion: .file())
    var tasks: String?

    @Flag(help: "Print one JSON object (ppl, chunks, seqlen, tokens, seconds, ...).")
    var json = false

    func validate() throws {
        if text != nil && ids != nil { throw ValidationError("give at most one of --text and --ids") }
        if tasks != nil && (text != nil || ids != nil || base != nil) {
            throw ValidationError("--tasks goes without --text, --ids and --base")
        }
        if base == nil && tasks == nil && text == nil && ids == nil {
            throw ValidationError("give one of --text and --ids")
        }
        if saveBase != nil && base == nil { throw ValidationError("--save-base needs --base MODEL") }
        if let seqlen, seqlen < 2 { throw ValidationError("--seqlen must be at least 2 (got \(seqlen))") }
        if let chunks, chunks < 1 { throw ValidationError("--chunks must be at least 1 (got \(chunks))") }
    }

    func run() throws {
        let model = try source.load()
        if let base {
            try compare(model, with: base)
            return
        }
        if let tasks {
            try score(model, tasks: tasks)
            return
        }
        let seqlen = self.seqlen ?? 2048
        let tokens = try evaluationTokens(for: model)
        let available = tokens.count / seqlen
        guard available >= 1 else {
            throw CommandFailure.badInput(
                "\(text ?? ids!): \(tokens.count) tokens is less than one chunk of \(seqlen); use a smaller --seqlen")
        }
        let chunkCount = min(chunks ?? available, available)
        if let chunks, chunks > available {
            Terminal.printError(
                "shears: note: the text has only \(available) chunks of \(seqlen) tokens; evaluating \(available)")
        }
        let bar = ProgressBar("eval", total: chunkCount, unit: "tok")
        let scope = CancellationScope()
        let evaluator = PerplexityEvaluator(model: model, cancellation: scope.cancellation)
        let result: PerplexityResult
        do {
            result = try evaluator.evaluate(tokens: tokens, seqlen: seqlen, maxChunks: chunkCount) { done, _ in
                bar.update(done: done, work: Double(done * seqlen))
            }
        } catch {
            if let failure = scope.failure { throw failure }
            throw error
        }
        bar.finish()
        if result.exceedsContextLength {
            Terminal.printError(
                "shears: note: seqlen \(seqlen) exceeds the model's context length \(model.config.contextLength)")
        }
        if json {
            try JSONOutput.print(
                EvalReport(model: source.model, text: text ?? ids!, result: result, blas: BLASRuntime.summary))
        } else {
            print(
                String(
                    format: "chunks %d x %d tokens = %d tokens in %.1f s (%.0f tokens/s)",
                    result.chunks, result.seqlen, result.tokens, result.seconds,
                    Double(result.tokens) / result.seconds))
            print(
                String(
                    format: "Final estimate: PPL = %.4f +/- %.4f", result.perplexity,
                    result.perplexity * Estimate.mean(of: result.chunkMeanNLLs).stderr))
        }
    }
}

extension Eval {
    /// The ids of `--text` or `--ids` for `model`.
    func evaluationTokens(for model: Model) throws -> [Int32] {
        if let text { return try textOptions.encode(text, for: model) }
        return try InputFiles.readIDs(ids!, vocabularySize: model.config.vocabSize)
    }
}

/// The JSON object `eval --json` prints.
private struct EvalReport: Encodable {
    let model: String
    let text: String
    let ppl: Double
    let chunks: Int
    let seqlen: Int
    let tokens: Int
    let seconds: Double
    let tokensPerSecond: Double
    let pplStderr: Double
    let meanNll: Double
    let chunkNll: [Double]
    let blas: String
    let peakRssBytes: Int

    init(model: String, text: String, result: PerplexityResult, blas: String) {
        self.model = model
        self.text = text
        ppl = result.perplexity
        chunks = result.chunks
        seqlen = result.seqlen
        tokens = result.tokens
        seconds = result.seconds
        tokensPerSecond = Double(result.tokens) / max(result.seconds, 1e-9)
        chunkNll = result.chunkMeanNLLs
        meanNll = chunkNll.reduce(0, +) / Double(max(chunkNll.count, 1))
        pplStderr = result.perplexity * Estimate.mean(of: chunkNll).stderr
        self.blas = blas
        peakRssBytes = peakResidentBytes()
    }
}
