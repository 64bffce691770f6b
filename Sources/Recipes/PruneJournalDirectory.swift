import Foundation
import JSON
import ModelIO
import PruningEngine
import Reports

/// The journal of a prune in a directory beside its output (`OUT.shears-journal`): per finished
/// layer its tensors (`layer-N.safetensors`, Float32) and the calibration activations entering
/// the next layer (`activations-N.safetensors`), and `journal.json`, rewritten last after each
/// layer — the commit point — with what identifies the run and the finished layers' reports.
///
/// A run killed at any moment leaves a journal that `--resume` continues from its last committed
/// layer; files of a layer that was being written are replaced. The directory is removed once
/// the output is written.
package final class PruneJournalDirectory: PruneJournal {
    /// What must be equal for a journal to be continued: the model file, steps, calibration
    /// windows and targets.
    package struct Identity: Equatable {
        /// SHA-256 of the input model file.
        package var model: String
        /// The steps as recipes describe them.
        package var steps: String
        /// SHA-256 of the calibration token ids (empty without data).
        package var calibration: String
        /// Target and ignore globs.
        package var targets: [String], ignore: [String]

        package init(model: String, steps: String, calibration: String, targets: [String], ignore: [String]) {
            self.model = model
            self.steps = steps
            self.calibration = calibration
            self.targets = targets
            self.ignore = ignore
        }

        /// The identity of pruning the model read from `modelPath` with `recipes` on `windows`.
        ///
        /// A model directory is hashed file by file, in name order.
        package init(
            modelPath: String, recipes: [PruneRecipe], windows: [[Int32]], targets: [String], ignore: [String]
        ) {
            model = SHA256.hex(ofModel: modelPath)
            steps = recipes.map(\.description).joined(separator: " + ")
            calibration = windows.isEmpty ? "" : RunReport.CalibrationSummary(source: "", windows: windows).sha256
            self.targets = targets
            self.ignore = ignore
        }
    }

    static let schema = "shears.prune-journal"
    static let version = 1

    /// The journal directory.
    package let directory: String
    private let identity: Identity
    private let resuming: Bool
    /// The finished layers' reports, as committed.
    private var layers: [JSONValue] = []
    private var previousActivations: String?

    /// The journal directory for the output `path`.
    package static func directory(forOutput path: String) -> String { path + ".shears-journal" }

    /// Fails early when `resume` asks for a journal that `directory` lacks, or when starting
    /// afresh would bury the journal `directory` holds.
    package static func checkBeforeStart(directory: String, resume: Bool) throws(CommandFailure) {
        let exists = FileManager.default.fileExists(atPath: directory + "/journal.json")
        if resume, !exists {
            throw .badInput("\(directory): no journal to resume (journal.json is missing); run without --resume")
        }
        if !resume, exists {
            throw .badInput(
                "\(directory) holds the journal of an interrupted prune: add --resume to continue it, or delete the directory to start over"
            )
        }
    }

    /// Opens the journal at `directory`.
    ///
    /// - Parameters:
    ///   - resume: Continue the journal there (it must exist and record `identity`); otherwise a
    ///     new one is started there, and an existing one is an error (it may hold hours of work).
    /// - Throws: `CommandFailure.badInput` naming the directory and what differs.
    package init(directory: String, identity: Identity, resume: Bool) throws(CommandFailure) {
        self.directory = directory
        self.identity = identity
        resuming = resume
        try Self.checkBeforeStart(directory: directory, resume: resume)
        if resume {
            try check(directory + "/journal.json")
        } else {
            do {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            } catch {
                throw .runFailed("\(directory): cannot create the journal directory (\(error.localizedDescription))")
            }
        }
    }

    /// Removes the journal: the output it protected is complete.
    package func remove() {
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Layers the journal holds (those it was resumed with and those recorded since).
    package var finishedLayers: Int { layers.count }

    /// After a prune stopped early: removes the journal if it holds no layer, otherwise returns
    /// the note that tells how to continue.
    package func stopped() -> String? {
        guard finishedLayers > 0 else {
            remove()
            return nil
        }
        return
            "\(finishedLayers) finished layers are journaled in \(directory): run the same command with --resume to continue"
    }

    // MARK: PruneJournal

    package func resume(model: Model, tokens: Int) throws(PruneError) -> PruneCheckpoint? {
        guard resuming, !layers.isEmpty else { return nil }
        var reports: [LayerReport] = []
        for entry in layers {
            let report = try Self.layerReport(entry, directory: directory)
            let path = "\(directory)/layer-\(report.layer).safetensors"
            do {
                let file = try SafetensorsFile(path: path)
                for name in file.tensorNames {
                    guard let current = model.tensor(name) else {
                        throw PruneError("resume: \(path): tensor \(name) is not in the model")
                    }
                    let saved = try file.tensor(name)
                    guard saved.shape == current.shape else {
                        throw PruneError(
                            "resume: \(path): tensor \(name) has shape \(saved.shape), the model \(current.shape)")
                    }
                    model.replace(
                        Tensor(name: name, shape: saved.shape, storage: saved.storage, sourceType: current.sourceType))
                }
                if model.residency == .streamed { try model.spill(layer: report.layer, savedIn: file) }
            } catch let error as PruneError {
                throw error
            } catch {
                throw PruneError("resume: \(error)")
            }
            reports.append(report)
        }
        let last = reports.last!.layer
        var activations: [Float]?
        if tokens > 0 {
            let path = "\(directory)/activations-\(last).safetensors"
            do {
                let saved = try SafetensorsFile(path: path).tensor("activations")
                activations = Array(saved.storage.buffer)
            } catch {
                throw PruneError("resume: \(error)")
            }
            previousActivations = path
        }
        return PruneCheckpoint(layers: reports, nextLayer: last + 1, activations: activations)
    }

    package func record(
        layer: Int, report: LayerReport, model: Model, activations: UnsafeBufferPointer<Float>?
    ) throws(PruneError) {
        let tensors = model.tensors.filter { $0.name.hasPrefix("blk.\(layer).") }
        let layerPath = "\(directory)/layer-\(layer).safetensors"
        let activationsPath = "\(directory)/activations-\(layer).safetensors"
        do {
            // Files of a layer that was being written when a run was killed are replaced.
            unlink(layerPath)
            try SafetensorsWriter.write(tensors, type: .f32, to: layerPath)
            // A streamed model reads the layer back from here instead of spilling it again.
            if model.residency == .streamed { try model.spill(layer: layer, savedIn: SafetensorsFile(path: layerPath)) }
            if let activations {
                unlink(activationsPath)
                let hidden = model.config.hiddenSize
                let writer = try SafetensorsStreamWriter(
                    path: activationsPath, layout: [("activations", [activations.count / hidden, hidden])])
                try writer.append("activations", activations)
                try writer.commit()
            }
        } catch {
            throw PruneError("journal: \(error)")
        }
        layers.append(Self.json(report))
        do { try commit() } catch { throw PruneError("journal: \(error)") }
        if let previousActivations, previousActivations != activationsPath { unlink(previousActivations) }
        previousActivations = activations == nil ? nil : activationsPath
    }

    // MARK: Manifest

    private func commit() throws(CommandFailure) {
        let manifest: JSONValue = .object([
            ("schema", .string(Self.schema)), ("version", .integer(Self.version)),
            ("model_sha256", .string(identity.model)), ("steps", .string(identity.steps)),
            ("calibration_sha256", .string(identity.calibration)),
            ("targets", .array(identity.targets.map { .string($0) })),
            ("ignore", .array(identity.ignore.map { .string($0) })), ("layers", .array(layers)),
        ])
        try InputFiles.writeAtomically(Data(JSONWriter.pretty(manifest)), to: directory + "/journal.json")
    }

    /// Reads the manifest and checks that it records this run.
    private func check(_ path: String) throws(CommandFailure) {
        guard let data = FileManager.default.contents(atPath: path),
            let manifest = try? JSONParser.parse([UInt8](data)), manifest["schema"]?.string == Self.schema
        else {
            throw .badInput("\(path): not a Shears prune journal; delete \(directory) to start over")
        }
        guard manifest["version"]?.int == Self.version else {
            throw .badInput("\(path): journal version \(manifest["version"]?.summary ?? "?") is not \(Self.version)")
        }
        let recorded = Identity(
            model: manifest["model_sha256"]?.string ?? "", steps: manifest["steps"]?.string ?? "",
            calibration: manifest["calibration_sha256"]?.string ?? "",
            targets: manifest["targets"]?.array?.compactMap(\.string) ?? [],
            ignore: manifest["ignore"]?.array?.compactMap(\.string) ?? [])
        let differences = [
            recorded.model != identity.model
                ? "the model file differs (sha256 \(recorded.model.prefix(12))… in the journal)" : nil,
            recorded.steps != identity.steps ? "the steps differ (the journal has \(recorded.steps))" : nil,
            recorded.calibration != identity.calibration ? "the calibration windows differ" : nil,
            recorded.targets != identity.targets || recorded.ignore != identity.ignore
                ? "the targets or ignored tensors differ" : nil,
        ].compactMap { $0 }
        guard differences.isEmpty else {
            throw .badInput(
                "\(path): cannot resume: \(differences.joined(separator: "; ")); run the same command, or delete \(directory) to start over"
            )
        }
        layers = manifest["layers"]?.array ?? []
    }

    // MARK: Layer reports

    private static func json(_ report: LayerReport) -> JSONValue {
        .object([
            ("layer", .integer(report.layer)),
            ("error", report.outputError.map { .number("\($0)") } ?? .null),
            (
                "times",
                .array(
                    [
                        report.times.forwards, report.times.statistics, report.times.selection,
                        report.times.reconstruction, report.times.gradients,
                    ].map { .number("\($0)") })
            ),
            (
                "matrices",
                .array(
                    report.matrices.map { matrix in
                        .object([
                            ("name", .string(matrix.name)), ("count", .integer(matrix.count)),
                            ("zeros", .integer(matrix.zeros)), ("target", .number("\(matrix.targetSparsity)")),
                            ("notes", .array(matrix.notes.map { .string($0) })),
                        ])
                    })
            ),
        ])
    }

    private static func layerReport(_ value: JSONValue, directory: String) throws(PruneError) -> LayerReport {
        let times = value["times"]?.array?.compactMap(\.double) ?? []
        guard let layer = value["layer"]?.int, times.count == 5, let matrices = value["matrices"]?.array else {
            throw PruneError(
                "resume: \(directory)/journal.json: a layer entry is malformed (\(value.summary.prefix(80)))")
        }
        var phases = PrunePhaseTimes()
        (phases.forwards, phases.statistics, phases.selection) = (times[0], times[1], times[2])
        (phases.reconstruction, phases.gradients) = (times[3], times[4])
        var reports: [MatrixReport] = []
        for matrix in matrices {
            guard let name = matrix["name"]?.string, let count = matrix["count"]?.int, let zeros = matrix["zeros"]?.int,
                let target = matrix["target"]?.double
            else {
                throw PruneError("resume: \(directory)/journal.json: layer \(layer): a matrix entry is malformed")
            }
            reports.append(
                MatrixReport(
                    name: name, count: count, zeros: zeros, targetSparsity: target,
                    notes: matrix["notes"]?.array?.compactMap(\.string) ?? []))
        }
        return LayerReport(
            layer: layer, matrices: reports, plan: nil, outputError: value["error"]?.double, times: phases)
    }
}
