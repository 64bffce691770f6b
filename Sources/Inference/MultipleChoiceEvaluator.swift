import Foundation
import Kernels
import ModelIO

/// One multiple-choice question in tokens: a context, the continuations to score after it, the
/// index of the right one, and each continuation's length for normalisation.
public struct MultipleChoiceTask: Sendable, Equatable {
    /// The context ids (at least one: lm-evaluation-harness uses the end-of-text token for an
    /// empty context).
    public var context: [Int32]
    /// The continuation ids of each choice (each at least one).
    public var choices: [[Int32]]
    /// The length of each continuation's text in bytes (acc_norm divides by it).
    public var choiceBytes: [Int]
    /// The index of the right choice.
    public var gold: Int

    /// A task; the counts of `choices` and `choiceBytes` must agree.
    public init(context: [Int32], choices: [[Int32]], choiceBytes: [Int], gold: Int) {
        self.context = context
        self.choices = choices
        self.choiceBytes = choiceBytes
        self.gold = gold
    }
}

/// Accuracy on multiple-choice tasks as lm-evaluation-harness computes it.
public struct MultipleChoiceResult: Sendable, Equatable {
    /// Tasks evaluated.
    public var tasks: Int
    /// Share of tasks whose highest log-likelihood choice is the right one.
    public var accuracy: Estimate
    /// The same with each log-likelihood divided by its continuation's byte length.
    public var normalizedAccuracy: Estimate
    /// Per task, the log-likelihood of each choice.
    public var logLikelihoods: [[Double]]
    /// Wall-clock seconds.
    public var seconds: Double
}

/// Scores multiple-choice tasks by the log-likelihood of each continuation given its context
/// (lm-evaluation-harness's `loglikelihood` requests): acc takes the choice of highest summed
/// log-probability, acc_norm the highest per byte of continuation text; both come with the
/// standard error of a mean of 0/1 outcomes. A sequence longer than the model's context keeps
/// its last tokens, as the harness does.
public struct MultipleChoiceEvaluator {
    /// The model scored.
    public let model: Model
    /// Checked before every task.
    public let cancellation: Cancellation?

    /// Creates an evaluator for `model`, stoppable through `cancellation`.
    public init(model: Model, cancellation: Cancellation? = nil) {
        self.model = model
        self.cancellation = cancellation
    }

    /// Scores `tasks`; `progress` hears the tasks done and the total.
    ///
    /// - Throws: `InferenceError` for an empty task list, a task without context or choices, an
    ///   empty continuation, a gold index out of range, an id out of range, or when cancelled.
    public func evaluate(
        _ tasks: [MultipleChoiceTask], progress: ((_ done: Int, _ total: Int) -> Void)? = nil
    ) throws(InferenceError) -> MultipleChoiceResult {
        guard !tasks.isEmpty else { throw InferenceError("no multiple-choice tasks to evaluate") }
        for (index, task) in tasks.enumerated() {
            guard !task.context.isEmpty, !task.choices.isEmpty, task.choices.count == task.choiceBytes.count,
                task.choices.allSatisfy({ !$0.isEmpty }), task.choices.indices.contains(task.gold)
            else {
                throw InferenceError(
                    "task \(index + 1): needs a context, non-empty choices and a gold index among them (gold \(task.gold), \(task.choices.count) choices)"
                )
            }
        }
        let start = DispatchTime.now().uptimeNanoseconds
        let limit = model.config.contextLength
        let longest = tasks.map { $0.context.count + ($0.choices.map(\.count).max() ?? 0) - 1 }.max()!
        let forward = try ForwardPass(model: model, capacity: min(longest, limit))
        var likelihoods: [[Double]] = []
        var correct = 0, correctNormalized = 0
        for (index, task) in tasks.enumerated() {
            try cancellation?.check()
            let scores = try task.choices.map { choice throws(InferenceError) in
                try logLikelihood(forward, context: task.context, continuation: choice, limit: limit)
            }
            likelihoods.append(scores)
            if Self.argmax(scores) == task.gold { correct += 1 }
            let normalized = zip(scores, task.choiceBytes).map { $0 / Double(max($1, 1)) }
            if Self.argmax(normalized) == task.gold { correctNormalized += 1 }
            progress?(index + 1, tasks.count)
        }
        return MultipleChoiceResult(
            tasks: tasks.count, accuracy: Estimate.share(correct, of: tasks.count),
            normalizedAccuracy: Estimate.share(correctNormalized, of: tasks.count), logLikelihoods: likelihoods,
            seconds: Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9)
    }

    /// The summed log-probability of `continuation` after `context`, keeping the last `limit`
    /// input tokens.
    private func logLikelihood(
        _ forward: ForwardPass, context: [Int32], continuation: [Int32], limit: Int
    ) throws(InferenceError) -> Double {
        let whole = context + continuation
        let kept = Array(whole.suffix(limit + 1))
        let input = Array(kept.dropLast())
        let firstRow = input.count - continuation.count
        guard firstRow >= 0 else {
            throw InferenceError("a continuation of \(continuation.count) tokens exceeds the context length \(limit)")
        }
        let vocab = model.config.vocabSize
        var nll = [Float](repeating: 0, count: continuation.count)
        try kept.withUnsafeBufferPointer { ids throws(InferenceError) in
            try nll.withUnsafeMutableBufferPointer { out throws(InferenceError) in
                try forward.logitBlocks(input, rows: firstRow..<input.count) { first, rows, logits in
                    shears_cross_entropy(
                        logits, rows, vocab, vocab, ids.baseAddress! + first + 1, out.baseAddress! + (first - firstRow))
                }
            }
        }
        return -nll.reduce(0.0) { $0 + Double($1) }
    }

    /// The first index of the largest value.
    static func argmax(_ values: [Double]) -> Int {
        var best = 0
        for i in values.indices where values[i] > values[best] { best = i }
        return best
    }
}
