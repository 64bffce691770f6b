import Foundation
import Inference
import ModelIO
import PruningEngine

extension RunReport {
    /// The report of a finished prune.
    ///
    /// - Parameters:
    ///   - prune: The engine's report.
    ///   - input: The model read.
    ///   - output: The model as pruned (`ModelSummary(model:path:)` once written).
    ///   - calibration: The windows used, nil for none.
    ///   - steps: The steps as a recipe describes them.
    ///   - command: How the prune was started.
    ///   - shearsVersion: The running Shears version.
    package init(
        prune: PruneReport, input: ModelSummary, output: ModelSummary, calibration: CalibrationSummary?,
        steps: [String], command: String, shearsVersion: String
    ) {
        self.shearsVersion = shearsVersion
        created = ISO8601DateFormatter().string(from: Date())
        self.command = command
        self.input = input
        self.output = output
        self.calibration = calibration
        self.steps = steps
        sparsity = prune.sparsity
        layers = prune.layers.map { layer in
            Layer(
                index: layer.layer, sparsity: layer.sparsity,
                target: layer.plan?.sparsity ?? layer.matrices.first?.targetSparsity,
                outlierRatio: layer.plan?.measure, pattern: layer.plan?.pattern?.description, error: layer.outputError,
                seconds: layer.times.total,
                matrices: layer.matrices.map {
                    Matrix(name: $0.name, count: $0.count, zeros: $0.zeros, target: $0.targetSparsity, notes: $0.notes)
                })
        }
        modelSteps = prune.modelSteps.map { step in
            ModelStep(
                step: step.step, removedBlocks: step.removedBlocks,
                blockScores: step.blockScores.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }, notes: step.notes)
        }
        phases = [
            ("forwards", prune.times.forwards), ("statistics", prune.times.statistics),
            ("selection", prune.times.selection), ("reconstruction", prune.times.reconstruction),
            ("gradients", prune.times.gradients),
        ]
        seconds = prune.seconds
        peakResidentBytes = Inference.peakResidentBytes()
        evaluations = []
    }
}

extension RunReport.ModelSummary {
    /// `model`'s shape, with the file at `path` hashed and measured when it is a regular file.
    ///
    /// - Parameters:
    ///   - architecture: The architecture the file has; by default the one a GGUF writer gives
    ///     the model's shapes (`llama` when uniform, `deci` otherwise).
    package init(model: Model, path: String?, architecture: String? = nil) {
        self.path = path
        self.architecture = architecture ?? ArchitectureDescriptor.forGGUF(model.config).ggufArchitecture
        parameters = model.parameterCount
        hidden = model.config.hiddenSize
        layers = model.config.layers.map {
            RunReport.LayerShape(heads: $0.headCount, kvHeads: $0.kvHeadCount, ffn: $0.ffnSize)
        }
        var isDirectory: ObjCBool = false
        if let path, FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue {
            sha256 = SHA256.hex(ofFile: path)
            bytes = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? nil
        }
    }
}

extension RunReport.CalibrationSummary {
    /// The summary of `windows` drawn from `source`.
    package init(source: String, windows: [[Int32]]) {
        self.source = source
        self.windows = windows.count
        tokens = windows.reduce(0) { $0 + $1.count }
        var sha = SHA256()
        for window in windows {
            window.map(\.littleEndian).withUnsafeBytes { sha.update($0) }
        }
        sha256 = sha.finalizeHex()
    }
}
