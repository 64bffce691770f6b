import BuiltinMethods
import Foundation
import Inference
import ModelIO
import PruningEngine
import TestSupport
import Testing

/// Hidden-channel surgery and Minitron's width step (`shears.hidden{}`, `--method minitron`):
/// the surgery checked against an equivalent unshrunk model, the scores computed here
/// independently from the dense stream, budgets, rounding and refusals.
@Suite struct MinitronTests {
    typealias Part = LlamaTensorNames.Layer

    /// Five windows of 12 random ids.
    static let windows = StructuredFixtures.windows(5, length: 12, seed: 300)

    /// The model with hidden channels `zero` silenced: their embedding columns, `attn_output`
    /// and `ffn_down` rows and bias entries are 0, so the residual stream is 0 there; with
    /// `normScale`, every norm weight is multiplied by it.
    static func silenced(_ model: Model, _ zero: Set<Int>, normScale: Float = 1) {
        let hidden = model.config.hiddenSize
        for tensor in model.tensors {
            var values = tensor.storage.array
            if tensor.name == LlamaTensorNames.tokenEmbedding {
                for index in values.indices where zero.contains(index % hidden) { values[index] = 0 }
            } else if tensor.shape.count == 1, tensor.name.hasSuffix(".bias") {
                for index in zero { values[index] = 0 }
            } else if tensor.shape.count == 1 {
                values = values.map { $0 * normScale }
            } else if let (_, part, _) = LlamaTensorNames.parse(tensor.name), part == .attentionOutput || part == .down
            {
                for row in zero { for c in 0..<tensor.columns { values[row * tensor.columns + c] = 0 } }
            } else {
                continue
            }
            model.replace(Tensor(name: tensor.name, shape: tensor.shape, storage: TensorStorage(values)))
        }
    }

    /// The logits of every position of `window`.
    static func logits(_ model: Model, _ window: [Int32]) throws -> [Float] {
        try ForwardPass(model: model, capacity: window.count).logits(appending: window)
    }

    @Test("removing silenced hidden channels equals the unshrunk model with norms rescaled by √(d′/d)")
    func surgeryEquivalence() throws {
        var config = TinyModel.config
        config.rmsNormEpsilon = 0
        let zero: Set<Int> = [3, 10, 11, 30]
        let pruned = try TinyModel.make(config, seed: 12, biases: true)
        Self.silenced(pruned, zero)
        let reference = try TinyModel.make(config, seed: 12, biases: true)
        Self.silenced(reference, zero, normScale: (28.0 / 32.0).squareRoot())
        try pruned.remove(.hiddenChannels(zero.sorted().reversed()))
        #expect(pruned.config.hiddenSize == 28)
        #expect(pruned.tensor(LlamaTensorNames.tokenEmbedding)?.shape == [300, 28])
        #expect(pruned.tensor(LlamaTensorNames.output)?.shape == [300, 28])
        #expect(pruned.tensor(LlamaTensorNames.outputNorm)?.shape == [28])
        #expect(pruned.tensor(Part.query.name(layer: 1))?.shape == [32, 28])
        #expect(pruned.tensor(Part.attentionOutput.name(layer: 1))?.shape == [28, 32])
        #expect(pruned.tensor(Part.down.name(layer: 0))?.shape == [28, 48])
        #expect(pruned.tensor(Part.down.name(layer: 0, kind: .bias))?.shape == [28])
        #expect(pruned.tensors.count == reference.tensors.count)
        let window = Self.windows[0]
        let expected = try Self.logits(reference, window), actual = try Self.logits(pruned, window)
        let scale = expected.map(abs).max()!
        #expect(zip(expected, actual).allSatisfy { abs($0 - $1) <= 1e-5 * scale })
        // Kept slices keep their values, in order.
        let original = try TinyModel.make(config, seed: 12, biases: true)
        let kept = (0..<32).filter { !zero.contains($0) }
        let q = original.tensor(Part.query.name(layer: 0))!.storage.array
        #expect(
            pruned.tensor(Part.query.name(layer: 0))!.storage.array
                == (0..<32).flatMap { row in kept.map { q[row * 32 + $0] } })
    }

    @Test("hidden-channel removal is refused when the output's tie disagrees with the configuration")
    func tieMismatch() throws {
        var config = TinyModel.config
        config.tiedEmbedding = true
        let tied = try TinyModel.make(config, seed: 3)
        let stray = Tensor(name: LlamaTensorNames.output, shape: [300, 32], storage: TensorStorage(zeros: 300 * 32))
        let model = try Model(
            config: config, tensors: tied.tensors + [stray], metadata: tied.metadata, tokenizer: tied.tokenizer,
            sourcePath: "tied.gguf")
        let error = #expect(throws: ModelIOError.self) { try model.remove(.hiddenChannels([0])) }
        #expect(error?.item == "output.weight")
        #expect(
            error?.message.contains("declared tied to the output, but the model has a separate output.weight") == true)
        let refused = #expect(throws: PruneError.self) {
            try Pruner(model: model, steps: [try Minitron(budget: .ratio(0.25), ffn: false)])
        }
        #expect(refused?.message.hasPrefix("hidden: output.weight: the embedding is declared tied") == true)
        #expect(model.config.hiddenSize == 32)
        #expect(throws: ModelIOError.self) { try model.remove(.hiddenChannels(Array(0..<32))) }
    }

    @Test("Minitron scores: FFN channels by their down input, hidden channels summed over every norm output")
    func scores() throws {
        let dense = try StructuredFixtures.model(layers: 3, seed: 77)
        /// Per layer, `√Σ_windows (mean_t |x|)²` of `site`.
        func importance(_ site: LinearInputSite, width: Int) throws -> [[Double]] {
            try StructuredFixtures.denseInputs(dense, Self.windows, site).map { windows in
                (0..<width).map { c in
                    windows.reduce(0.0) { total, values in
                        let rows = values.count / width
                        let mean = (0..<rows).reduce(0.0) { $0 + Double(abs(values[$1 * width + c])) } / Double(rows)
                        return total + mean * mean
                    }.squareRoot()
                }
            }
        }
        let ffn = try importance(.ffnHidden, width: 48)
        let attentionNorms = try importance(.attentionInput, width: 32), ffnNorms = try importance(.ffnInput, width: 32)
        let hiddenScores = (0..<32).map { c in (0..<3).reduce(0.0) { $0 + attentionNorms[$1][c] + ffnNorms[$1][c] } }
        let keptHidden = (0..<32).filter { !UnitRemovalTests.lowest(hiddenScores, 8).contains($0) }

        let model = try StructuredFixtures.model(layers: 3, seed: 77)
        let report = try Pruner(model: model, steps: [try Minitron(budget: .ratio(0.25))]).run(
            calibration: Self.windows)
        #expect(model.config.hiddenSize == 24)
        #expect(model.config.layers.map(\.ffnSize) == [36, 36, 36])
        #expect(report.modelSteps.first?.notes.last == "removed 8 of 32 hidden channels")
        let embedding = dense.tensor(LlamaTensorNames.tokenEmbedding)!.storage.array
        #expect(
            model.tensor(LlamaTensorNames.tokenEmbedding)!.storage.array
                == (0..<300).flatMap { row in keptHidden.map { embedding[row * 32 + $0] } })
        for layer in 0..<3 {
            let keptChannels = (0..<48).filter { !UnitRemovalTests.lowest(ffn[layer], 12).contains($0) }
            let gate = dense.tensor(Part.gate.name(layer: layer))!.storage.array
            #expect(
                model.tensor(Part.gate.name(layer: layer))!.storage.array
                    == keptChannels.flatMap { row in keptHidden.map { gate[row * 32 + $0] } }, "layer \(layer)")
        }

        // Hidden only: the same hidden channels, FFN untouched.
        let hiddenOnly = try StructuredFixtures.model(layers: 3, seed: 77)
        let step = try Minitron(budget: .ratio(0.25), ffn: false)
        #expect(step.name == "hidden-minitron")
        _ = try Pruner(model: hiddenOnly, steps: [step]).run(calibration: Self.windows)
        #expect(hiddenOnly.config.layers.map(\.ffnSize) == [48, 48, 48])
        #expect(
            hiddenOnly.tensor(LlamaTensorNames.tokenEmbedding)!.storage.array
                == model.tensor(LlamaTensorNames.tokenEmbedding)!.storage.array)
    }

    @Test("a parameter budget is met to the nearest ratio, counting FFN and hidden overlap exactly")
    func parameterBudget() throws {
        let model = try StructuredFixtures.model(layers: 3, seed: 77)
        let before = model.parameterCount
        let report = try Pruner(model: model, steps: [try Minitron(budget: .parameters(0.3))])
            .run(calibration: Self.windows)
        let removed = before - model.parameterCount
        let note = try #require(report.modelSteps.first?.notes.first)
        #expect(note.hasPrefix("params 0.3: ratio "))
        #expect(note.hasSuffix(" removes \(removed) of \(before) parameters"))
        // The ratio moves in steps of one hidden channel (two vocabulary columns, the final norm entry
        // and 242 weights per layer) or one FFN channel per layer (3·32 weights each).
        let step = 2 * 300 + 1 + 3 * 242 + 3 * 3 * 32
        #expect(abs(Double(removed) - 0.3 * Double(before)) <= Double(step), "removed \(removed) of \(before)")
    }

    @Test("kept widths round to the nearest multiple of round_to")
    func rounding() throws {
        let model = try StructuredFixtures.model(layers: 2, seed: 5)
        _ = try Pruner(model: model, steps: [try Minitron(budget: .ratio(0.3), roundTo: 8)])
            .run(calibration: Self.windows)
        // 32 − 9 = 23 → 24; 48 − 14 = 34 → 32.
        #expect(model.config.hiddenSize == 24 && model.config.layers.map(\.ffnSize) == [32, 32])
        #expect(throws: PruneError("minitron: round_to must be at least 1, got 0")) {
            try Minitron(budget: .ratio(0.2), roundTo: 0)
        }
        #expect(throws: PruneError("hidden: ratio must be in [0, 1), got 1.0")) {
            try Minitron(budget: .ratio(1), ffn: false)
        }
    }
}
