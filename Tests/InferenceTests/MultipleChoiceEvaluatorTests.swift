import Foundation
import Inference
import TestSupport
import Testing

@Suite struct MultipleChoiceEvaluatorTests {
    @Test("log-likelihoods match a double-precision reference; acc and acc_norm pick as lm-evaluation-harness does")
    func matchesReference() throws {
        let model = try TinyModel.make(seed: 2)
        let context = ForwardPassTests.tokens(7, vocab: 300, seed: 1)
        let choices = [[Int32(5)], [12, 40, 7], [99, 3]]
        func reference(_ choice: [Int32]) -> Double {
            let whole = context + choice
            let logits = ReferenceForward.logits(model, Array(whole.dropLast()))
            var total = 0.0
            for (offset, id) in choice.enumerated() {
                let row = logits[context.count - 1 + offset]
                let top = row.max()!
                let logSum = log(row.reduce(0.0) { $0 + exp($1 - top) }) + top
                total += row[Int(id)] - logSum
            }
            return total
        }
        let expected = choices.map(reference)
        // Byte lengths chosen so that normalising changes the winner.
        let bytes = [1, 100, 2]
        var tasks: [MultipleChoiceTask] = []
        for gold in 0..<3 {
            tasks.append(MultipleChoiceTask(context: context, choices: choices, choiceBytes: bytes, gold: gold))
        }
        let result = try MultipleChoiceEvaluator(model: model).evaluate(tasks)
        #expect(result.tasks == 3)
        for (actual, wanted) in zip(result.logLikelihoods[0], expected) { #expect(abs(actual - wanted) < 1e-4) }
        let best = expected.indices.max { expected[$0] < expected[$1] }!
        let normalized = expected.indices.map { expected[$0] / Double(bytes[$0]) }
        let bestNormalized = normalized.indices.max { normalized[$0] < normalized[$1] }!
        #expect(result.accuracy.value == 1.0 / 3)
        #expect(result.normalizedAccuracy.value == 1.0 / 3)
        #expect(abs(result.accuracy.stderr - (1.0 / 3 * 2.0 / 3 / 2).squareRoot()) < 1e-12)
        // Each task's outcome follows its gold index.
        let single = try MultipleChoiceEvaluator(model: model).evaluate([tasks[best]])
        #expect(single.accuracy.value == 1 && single.accuracy.stderr == 0)
        let norm = try MultipleChoiceEvaluator(model: model).evaluate([tasks[bestNormalized]])
        #expect(norm.normalizedAccuracy.value == 1)
    }

    @Test("a sequence longer than the context keeps its last tokens; bad tasks throw")
    func truncationAndErrors() throws {
        let model = try TinyModel.make(seed: 2)
        let long = ForwardPassTests.tokens(300, vocab: 300, seed: 3)
        let kept = try MultipleChoiceEvaluator(model: model).evaluate([
            MultipleChoiceTask(context: long, choices: [[4, 5]], choiceBytes: [2], gold: 0)
        ])
        let trimmed = try MultipleChoiceEvaluator(model: model).evaluate([
            MultipleChoiceTask(context: Array(long.suffix(255)), choices: [[4, 5]], choiceBytes: [2], gold: 0)
        ])
        #expect(kept.logLikelihoods == trimmed.logLikelihoods)
        let evaluator = MultipleChoiceEvaluator(model: model)
        #expect(throws: InferenceError.self) { try evaluator.evaluate([]) }
        #expect(throws: InferenceError.self) {
            try evaluator.evaluate([MultipleChoiceTask(context: [1], choices: [[2]], choiceBytes: [1], gold: 1)])
        }
        #expect(throws: InferenceError.self) {
            try evaluator.evaluate([MultipleChoiceTask(context: [], choices: [[2]], choiceBytes: [1], gold: 0)])
        }
    }
}
