import Foundation
import Inference
import ModelIO
import Recipes

extension Eval {
    /// `--tasks FILE`: multiple-choice accuracy of `model` on the tasks in `path`.
    func score(_ model: Model, tasks path: String) throws {
        let entries = try MultipleChoiceFile.read(path)
        var tasks: [MultipleChoiceTask] = []
        for entry in entries {
            do {
                tasks.append(try MultipleChoiceFile.task(entry, model: model))
            } catch {
                throw CommandFailure.badInput("\(path): \(error.message)")
            }
        }
        let bar = ProgressBar("tasks", total: tasks.count, unit: "task")
        let scope = CancellationScope()
        let result: MultipleChoiceResult
        do {
            result = try MultipleChoiceEvaluator(model: model, cancellation: scope.cancellation).evaluate(tasks) {
                done, _ in bar.update(done: done, work: Double(done))
            }
        } catch {
            if let failure = scope.failure { throw failure }
            throw CommandFailure.badInput("\(path): \(error.message)")
        }
        bar.finish()
        if json {
            try JSONOutput.print(
                SummaryObject([
                    ("model", .string(source.model)), ("tasks_file", .string(path)), ("tasks", .integer(result.tasks)),
                    ("acc", .number(result.accuracy.value)), ("acc_stderr", .number(result.accuracy.stderr)),
                    ("acc_norm", .number(result.normalizedAccuracy.value)),
                    ("acc_norm_stderr", .number(result.normalizedAccuracy.stderr)),
                    ("seconds", .number(result.seconds)),
                ]))
        } else {
            print(String(format: "tasks %d in %.1f s", result.tasks, result.seconds))
            print(String(format: "acc      = %.4f ± %.4f", result.accuracy.value, result.accuracy.stderr))
            print(
                String(
                    format: "acc_norm = %.4f ± %.4f", result.normalizedAccuracy.value,
                    result.normalizedAccuracy.stderr))
        }
    }
}
