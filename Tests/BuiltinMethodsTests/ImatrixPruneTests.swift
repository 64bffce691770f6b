import BuiltinMethods
import Inference
import ModelIO
import PruningEngine
import TestSupport
import Testing

/// Pruning with an importance matrix instead of calibration forwards (`PruneOptions.imatrix`):
/// the same Wanda masks as Shears' own statistics where both see the same input, no forward at
/// all, and clear refusals for the steps that need more than x².
@Suite struct ImatrixPruneTests {
    /// Four windows of 16 random ids: power-of-two counts, so that the imatrix's mean x² is
    /// Shears' per-window sum scaled by exactly 2⁻⁴.
    static func windows(_ model: Model) -> [[Int32]] {
        var rng = SplitMix64(seed: 11)
        return (0..<4).map { _ in (0..<16).map { _ in Int32(rng.next() % UInt64(model.config.vocabSize - 1)) } }
    }

    /// The imatrix of the dense tiny model over `windows`.
    static func imatrix(_ model: Model) throws -> ImportanceMatrix {
        try ImportanceMatrixCollector.collect(model: model, windows: windows(model), datasets: ["ids"], path: "tiny")
    }

    /// Positions of the zeros of every linear matrix of layer `layer`.
    static func zeros(_ model: Model, layer: Int) -> [String: [Bool]] {
        var result: [String: [Bool]] = [:]
        for part in LinearMatrix.parts {
            let name = part.name(layer: layer)
            result[name] = model.tensor(name)!.storage.buffer.map { $0 == 0 }
        }
        return result
    }

    @Test("Wanda on the imatrix gives Shears' own masks on the layer both see alike, with no forward")
    func sameMasks() throws {
        let own = try TinyModel.make(), fromFile = try TinyModel.make()
        let imatrix = try Self.imatrix(fromFile)
        var options = PruneOptions()
        options.targets = [TensorNamePattern("blk.0.*")]
        _ = try Pruner(model: own, steps: try PruneMethod.wanda(sparsity: 0.5), options: options).run(
            calibration: Self.windows(own))
        options.imatrix = imatrix
        let report = try Pruner(model: fromFile, steps: try PruneMethod.wanda(sparsity: 0.5), options: options).run(
            calibration: [])
        #expect(report.calibrationWindows == 0 && report.times.forwards == 0 && report.times.statistics == 0)
        #expect(abs(report.sparsity - 0.5) < 0.01)
        #expect(Self.zeros(own, layer: 0) == Self.zeros(fromFile, layer: 0))
    }

    @Test("RIA and OWL run on the imatrix over every layer and agree with their calibrated runs on layer 0")
    func riaAndOWL() throws {
        for steps in [
            try PruneMethod.ria(sparsity: 0.5),
            try PruneMethod.owl(sparsity: 0.5, outlierMultiplier: 2) + [WandaScore(), RowSelector()],
        ] {
            let own = try TinyModel.make(), fromFile = try TinyModel.make()
            var options = PruneOptions()
            _ = try Pruner(model: own, steps: steps, options: options).run(calibration: Self.windows(own))
            options.imatrix = try Self.imatrix(fromFile)
            let report = try Pruner(model: fromFile, steps: steps, options: options).run(calibration: [])
            #expect(report.calibrationWindows == 0 && report.times.forwards == 0)
            #expect(abs(report.sparsity - 0.5) < 0.02, "\(report.sparsity)")
            let (a, b) = (Self.zeros(own, layer: 0), Self.zeros(fromFile, layer: 0))
            let same = a.keys.map { name in zip(a[name]!, b[name]!).filter { $0 == $1 }.count }.reduce(0, +)
            let total = a.values.map(\.count).reduce(0, +)
            #expect(Double(same) / Double(total) > 0.99, "\(steps.map(\.name)): \(same) of \(total)")
        }
    }

    @Test("steps that need XᵀX, moments, gradients or the layer's windows are refused naming the step")
    func refusals() throws {
        let model = try TinyModel.make()
        var options = PruneOptions()
        options.imatrix = try Self.imatrix(model)
        let cases: [([any PruneStep], String, String)] = [
            (try PruneMethod.sparseGPT(sparsity: 0.5), "sparsegpt", "XᵀX"),
            (try PruneMethod.wanda(sparsity: 0.5) + PruneMethod.dsnot(), "dsnot", "means and variances"),
            (try PruneMethod.taylor(sparsity: 0.5), "taylor", "gradients"),
            (try PruneMethod.besa(sparsity: 0.5), "besa", "calibration windows"),
        ]
        for (steps, name, why) in cases {
            let error = try #require(throws: PruneError.self) {
                try Pruner(model: model, steps: steps, options: options)
            }
            #expect(error.message.hasPrefix(name) && error.message.contains(why), "\(error)")
            #expect(error.message.contains("imatrix tiny"))
        }
    }

    @Test("a targeted matrix without an entry is refused naming it (llama-imatrix leaves out output.weight)")
    func missingEntry() throws {
        let model = try TinyModel.make()
        var imatrix = try Self.imatrix(model)
        imatrix.entries["blk.1.ffn_up.weight"] = nil
        var options = PruneOptions()
        options.imatrix = imatrix
        let error = try #require(throws: PruneError.self) {
            try Pruner(model: model, steps: try PruneMethod.wanda(sparsity: 0.5), options: options).run(calibration: [])
        }
        #expect(error.message.contains("no entry for blk.1.ffn_up.weight"), "\(error)")
    }

    @Test("the collected imatrix sums x² over every token: its mean is Shears' per-window sum over the window length")
    func collectedScale() throws {
        let model = try TinyModel.make()
        let imatrix = try Self.imatrix(model)
        #expect(imatrix.chunkCount == 4 && imatrix.chunkSize == 16)
        #expect(imatrix.entries.count == 14)
        let entry = try #require(imatrix.entries["blk.0.attn_q.weight"])
        #expect(entry.count == 64)
        let statistics = InputStatistics(columns: 32, requirement: .squaredNorms)
        // Layer 0's q input: the RMS-normed embeddings, accumulated as the engine does.
        let embedding = model.tensor("token_embd.weight")!.storage.buffer
        let norm = model.tensor("blk.0.attn_norm.weight")!.storage.buffer
        for window in Self.windows(model) {
            var rows: [Float] = []
            for id in window {
                let x = Array(embedding[(Int(id) * 32)..<(Int(id) * 32 + 32)])
                let scale = 1 / (x.map { $0 * $0 }.reduce(0, +) / 32 + 1e-5).squareRoot()
                rows += zip(x, norm).map { $0 * scale * $1 }
            }
            rows.withUnsafeBufferPointer { statistics.accumulate($0) }
        }
        for (mean, own) in zip(entry.meanSquares, statistics.squaredNorms) {
            #expect(abs(mean * 16 - own) <= 1e-4 * own, "\(mean) × 16 vs \(own)")
        }
    }
}
