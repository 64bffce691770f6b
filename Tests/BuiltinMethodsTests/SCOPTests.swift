import BuiltinMethods
import Inference
import ModelIO
import PruningEngine
import TestSupport
import Testing

/// SCOP on a tiny model whose calibration text it wrote itself, with units made irrelevant by
/// construction (their output columns scaled to near zero). Goal (not met yet, flagged as a known
/// issue): they are ranked below every real unit and removed first, with each knockoff source and
/// with the zero-knockoff ablation. What is checked: the run, the shapes, the bad input.
@Suite struct SCOPTests {
    /// FFN channels of every layer whose `ffn_down` columns are planted near zero.
    static let plantedChannels = [5, 12, 33, 40]
    /// The query head of each KV group whose `attn_output` columns are planted near zero.
    static let plantedHeads = [1, 2]

    /// A two-layer tiny model with the planted units.
    static func model() throws -> Model {
        let model = try StructuredFixtures.model(layers: 2, seed: 41)
        let config = model.config, headDim = config.headDim
        for layer in 0..<config.layerCount {
            let down = model.tensor(LlamaTensorNames.Layer.down.name(layer: layer))!
            for row in 0..<down.rows {
                for channel in plantedChannels { down.storage.buffer[row * down.columns + channel] *= 1e-3 }
            }
            let output = model.tensor(LlamaTensorNames.Layer.attentionOutput.name(layer: layer))!
            for row in 0..<output.rows {
                for head in plantedHeads {
                    for d in 0..<headDim { output.storage.buffer[row * output.columns + head * headDim + d] *= 1e-3 }
                }
            }
        }
        return model
    }

    /// `count` windows of `length` tokens sampled from `model` at temperature 1 (text the model
    /// predicts, so its real units carry information about the next token).
    static func sampledWindows(_ model: Model, count: Int, length: Int) throws -> [[Int32]] {
        let generator = Generator(model: model)
        var windows: [[Int32]] = [], seed: UInt64 = 1
        while windows.count < count {
            let first = Int32(seed % 250)
            let text = try generator.generate(
                prompt: [first], maxTokens: length - 1, sampling: SamplingOptions(temperature: 1, seed: seed))
            if text.count == length - 1 { windows.append([first] + text) }
            seed += 1
        }
        return windows
    }

    /// The `ffn_down` columns (or `attn_output` head blocks) of `pruned` whose norm is under a
    /// thousandth of the median: the planted units left.
    static func plantedLeft(_ pruned: Model, heads: Bool) -> Int {
        let config = pruned.config
        var left = 0
        for layer in 0..<config.layerCount {
            let part: LlamaTensorNames.Layer = heads ? .attentionOutput : .down
            let tensor = pruned.tensor(part.name(layer: layer))!, w = tensor.storage.array
            let unit = heads ? config.headDim : 1
            let norms = stride(from: 0, to: tensor.columns, by: unit).map { first in
                (0..<tensor.rows).reduce(Float(0)) { total, row in
                    total
                        + (first..<first + unit).reduce(Float(0)) {
                            $0 + w[row * tensor.columns + $1] * w[row * tensor.columns + $1]
                        }
                }
            }
            let median = norms.sorted()[norms.count / 2]
            left += norms.filter { $0 < 1e-4 * median }.count
        }
        return left
    }

    /// About 7 minutes on this machine, and its ranking check is a known issue: with
    /// `SHEARS_LONG_TESTS=1` only.
    @Test(
        "planted irrelevant FFN channels and query heads are removed first, for every knockoff source",
        .enabled(if: ReferenceData.longTests), arguments: SCOP.Knockoffs.allCases)
    func planted(_ knockoffs: SCOP.Knockoffs) throws {
        let windows = try Self.sampledWindows(try Self.model(), count: 16, length: 24)
        #expect(Self.plantedLeft(try Self.model(), heads: false) == 8)
        #expect(Self.plantedLeft(try Self.model(), heads: true) == 4)
        // Channels: exactly the planted number per layer.
        let channelModel = try Self.model()
        let channels = try SCOP(
            budget: .ratio(4.5 / 48), heads: false, channels: true, knockoffs: knockoffs, steps: 200, batch: 8,
            scale: false)
        let report = try Pruner(model: channelModel, steps: [channels]).run(calibration: windows)
        #expect(channelModel.config.layers.map(\.ffnSize) == [44, 44])
        // Known issue (issue 15, open): the real units' β do not all rise above the planted ones'.
        withKnownIssue(
            "β of real units drift below 0.5 on this model; planted units are not all ranked first"
        ) {
            #expect(Self.plantedLeft(channelModel, heads: false) == 0, "\(report.modelSteps[0].notes)")
        }
        // Heads: one of each KV group's two.
        let headModel = try Self.model()
        let heads = try SCOP(
            budget: .ratio(0.5), heads: true, channels: false, knockoffs: knockoffs, steps: 200, batch: 8, scale: false)
        let headReport = try Pruner(model: headModel, steps: [heads]).run(calibration: windows)
        #expect(headModel.config.layers.map(\.headCount) == [2, 2])
        withKnownIssue(
            "β of real heads drift below 0.5 on this model; planted heads are not all ranked first"
        ) {
            #expect(Self.plantedLeft(headModel, heads: true) == 0, "\(headReport.modelSteps[0].notes)")
        }
    }

    @Test("bad input: no unit kind, too few windows for unpaired knockoffs, unknown units")
    func badInput() throws {
        #expect(throws: PruneError.self) { try SCOP(budget: .ratio(0.2), heads: false, channels: false) }
        #expect(throws: PruneError.self) { try SCOP(budget: .ratio(0.2), steps: 0) }
        let model = try Self.model()
        let step = try SCOP(budget: .ratio(0.2), knockoffs: .unpaired, steps: 1)
        #expect(throws: PruneError.self) {
            try Pruner(model: model, steps: [step]).run(calibration: [[1, 2, 3, 4]])
        }
        let descriptor = MethodRegistry.scop
        #expect(throws: PruneError.self) {
            try descriptor.makeSteps(
                try descriptor.arguments(["ratio": .number(0.2), "units": .names(["heads", "blocks"])]))
        }
    }
}
