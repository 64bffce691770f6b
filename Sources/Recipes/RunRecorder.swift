import Foundation
import ModelIO
import PruningEngine
import Reports

/// Gathers what a run report needs around a prune, for `shears prune --report` and
/// `shears.prune{..., report = path}`: the input model and calibration windows (hashed before the
/// prune starts), then the engine's report and the pruned model.
package struct RunRecorder {
    private let input: RunReport.ModelSummary
    private let calibration: RunReport.CalibrationSummary?
    private let command: String

    /// Records the model before the prune and the calibration windows it will use.
    ///
    /// - Parameters:
    ///   - model: The model, not yet pruned (its source file is hashed).
    ///   - calibrationSource: How the windows were made; ignored when `windows` is empty.
    ///   - command: How the prune was started, for the report.
    package init(model: Model, calibrationSource: String, windows: [[Int32]], command: String) {
        input = RunReport.ModelSummary(
            model: model, path: model.sourcePath, architecture: model.metadata["general.architecture"]?.string)
        calibration = windows.isEmpty ? nil : RunReport.CalibrationSummary(source: calibrationSource, windows: windows)
        self.command = command
    }

    /// The run report of a finished prune of the recorded model.
    ///
    /// - Parameter outputPath: The file the pruned model was written to, nil if not (yet) written.
    package func report(prune: PruneReport, model: Model, recipes: [PruneRecipe], outputPath: String?) -> RunReport {
        RunReport(
            prune: prune, input: input, output: RunReport.ModelSummary(model: model, path: outputPath),
            calibration: calibration, steps: recipes.map(\.description), command: command,
            shearsVersion: ShearsVersion.number)
    }
}

extension RunReport {
    /// Writes the report to `path` through a temporary file and a rename.
    package func write(to path: String) throws(CommandFailure) {
        try InputFiles.writeAtomically(text, to: path)
    }
}
