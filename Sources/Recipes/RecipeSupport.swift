import Foundation
import Reports

/// What a saved model records about the recipe that made it (`shears.*` metadata).
struct RecipeProvenance {
    /// `version`, `recipe` (file name), `recipe_sha256`, `recipe_args`.
    let annotations: [String: String]

    /// Provenance of the recipe at `path` run with `arguments`.
    init(path: String, arguments: [String]) {
        var annotations = ["version": ShearsVersion.number, "recipe": URL(fileURLWithPath: path).lastPathComponent]
        if let data = FileManager.default.contents(atPath: path) { annotations["recipe_sha256"] = SHA256.hex(of: data) }
        if !arguments.isEmpty { annotations["recipe_args"] = arguments.joined(separator: " ") }
        self.annotations = annotations
    }

    /// How the recipe was run, for run reports: `shears run NAME ARGS...`.
    var command: String {
        (["shears run", annotations["recipe"] ?? "?"] + (annotations["recipe_args"].map { [$0] } ?? []))
            .joined(separator: " ")
    }
}

/// `shears.progress` and the progress of long API calls, on one bar.
final class RecipeProgress {
    private var bar: ProgressBar?
    private var label = ""

    /// Shows `done` of `total` under `label` (a new label starts a new bar).
    func update(label: String, done: Int, total: Int) {
        if bar == nil || label != self.label {
            bar?.finish()
            bar = ProgressBar(label, total: total, unit: "step")
            self.label = label
        }
        bar?.update(done: done, work: Double(done))
        if done == total { finish() }
    }

    /// Clears the bar.
    func finish() {
        bar?.finish()
        bar = nil
    }
}
