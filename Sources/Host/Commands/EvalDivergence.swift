import ArgumentParser
import Foundation
import Inference
import ModelIO
import Recipes

extension Eval {
    /// `--base`: compares `model` with a base model or a llama.cpp base file and prints the figures.
    func compare(_ model: Model, with base: String) throws {
        let scope = CancellationScope()
        let evaluator = DivergenceEvaluator(model: model, cancellation: scope.cancellation)
        let result: DivergenceResult
        var bar: ProgressBar?
        let progress: (Int, Int) -> Void = { done, total in
            if bar == nil { bar = ProgressBar("compare", total: total, unit: "tok") }
            bar?.update(done: done, work: Double(done * (seqlen ?? 2048)))
        }
        do {
            if LlamaCppLogitsFile.isLogitsFile(base) {
                guard text == nil && ids == nil else {
                    throw CommandFailure.badInput(
                        "\(base) is a log-probability file that holds its own tokens; give no --text or --ids with it")
                }
                guard saveBase == nil else {
                    throw CommandFailure.badInput("--save-base needs a base model, and \(base) is already a base file")
                }
                let file = try LlamaCppLogitsFile(path: base)
                if let seqlen, seqlen != file.context {
                    throw CommandFailure.badInput(
                        "\(base) was computed with windows of \(file.context) tokens, not --seqlen \(seqlen); leave --seqlen out"
                    )
                }
                result = try evaluator.compare(base: file, maxChunks: chunks, progress: progress)
            } else {
                let baseModel = try ModelLoader.load(path: base)
                let seqlen = self.seqlen ?? 2048
                let tokens = try evaluationTokens(for: model)
                guard tokens.count >= seqlen else {
                    throw CommandFailure.badInput(
                        "\(text ?? ids!): \(tokens.count) tokens is less than one chunk of \(seqlen); use a smaller --seqlen"
                    )
                }
                result = try evaluator.compare(
                    base: baseModel, tokens: tokens, seqlen: seqlen, maxChunks: chunks, saveBase: saveBase,
                    progress: progress)
            }
        } catch let error as InferenceError {
            if let failure = scope.failure { throw failure }
            throw CommandFailure.badInput(error.message)
        } catch {
            if let failure = scope.failure { throw failure }
            throw error
        }
        bar?.finish()
        let fields = DivergenceSummary.fields(result)
        if json {
            try JSONOutput.print(
                SummaryObject(
                    [("model", .string(source.model)), ("base", .string(base))]
                        + (saveBase.map { [("saved_base", .string($0))] } ?? []) + fields))
        } else {
            print(Self.describe(result))
        }
    }

    /// The human-readable report of a comparison, in llama.cpp's terms.
    static func describe(_ r: DivergenceResult) -> String {
        func percent(_ e: Estimate) -> String { String(format: "%.3f ± %.3f %%", 100 * e.value, 100 * e.stderr) }
        let levels = DivergenceResult.percentileLevels
        let kld = zip(levels, r.kldPercentiles).map { String(format: "%g%% %.6f", 100 * $0, $1) }
        let deltaP = zip(levels, r.deltaPPercentiles).map { String(format: "%g%% %.3f%%", 100 * $0, 100 * $1) }
        return [
            String(
                format: "chunks %d x %d tokens, %d positions scored (second halves) in %.1f s", r.chunks, r.seqlen,
                r.positions, r.seconds),
            String(format: "PPL(model)          : %10.4f ± %.4f", r.perplexity.value, r.perplexity.stderr),
            String(format: "PPL(base)           : %10.4f ± %.4f", r.basePerplexity.value, r.basePerplexity.stderr),
            String(
                format: "ln(PPL/PPL(base))   : %10.6f ± %.6f (NLL correlation %.2f%%)", r.logPerplexityRatio.value,
                r.logPerplexityRatio.stderr, 100 * r.nllCorrelation),
            String(format: "Mean KLD            : %10.6f ± %.6f", r.kld.value, r.kld.stderr),
            String(format: "KLD                 : max %.6f, ", r.kldRange.upperBound) + kld.joined(separator: ", ")
                + String(format: ", min %.6f", r.kldRange.lowerBound),
            "Mean Δp             : " + percent(r.deltaP),
            "RMS Δp              : " + percent(r.deltaPRMS),
            String(format: "Δp                  : max %.3f%%, ", 100 * r.deltaPRange.upperBound)
                + deltaP.joined(separator: ", ") + String(format: ", min %.3f%%", 100 * r.deltaPRange.lowerBound),
            "Same top token      : " + percent(r.sameTop),
        ].joined(separator: "\n")
    }
}

/// Summary fields encoded as one JSON object, in order.
struct SummaryObject: Encodable {
    let fields: [(key: String, value: SummaryValue)]

    init(_ fields: [(key: String, value: SummaryValue)]) { self.fields = fields }

    private struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(_ name: String) { stringValue = name }
        init?(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Key.self)
        for (key, value) in fields {
            switch value {
            case .number(let number): try container.encode(number, forKey: Key(key))
            case .integer(let integer): try container.encode(integer, forKey: Key(key))
            case .string(let string): try container.encode(string, forKey: Key(key))
            case .numbers(let named):
                try container.encode(SummaryObject(named.map { ($0.key, .number($0.value)) }), forKey: Key(key))
            }
        }
    }
}
