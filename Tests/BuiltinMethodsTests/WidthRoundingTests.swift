import BuiltinMethods
import Inference
import ModelIO
import PruningEngine
import TestSupport
import Testing

/// `round_to` on the steps that choose FFN widths freely (FLAP, LLM-Pruner, `channels{}`): kept
/// widths become the nearest multiple, the channels removed stay the lowest-scoring of the
/// layer, and a parameter budget is met as closely as the rounded widths allow.
@Suite struct WidthRoundingTests {
    /// Six windows of 12 random ids.
    static let windows = StructuredFixtures.windows(6, length: 12, seed: 33)

    /// Runs `step` on a fresh four-layer tiny model (FFN 48); returns the model and its report.
    static func prune(_ step: any PruneStep) throws -> (Model, PruneReport) {
        let model = try StructuredFixtures.model(layers: 4, seed: 19)
        let report = try Pruner(model: model, steps: [step]).run(calibration: windows)
        return (model, report)
    }

    /// The FFN channels of each layer kept, as indices of the dense layer, read off `ffn_down`'s
    /// columns (every column of the tiny model is distinct).
    static func keptChannels(_ dense: Model, _ pruned: Model) -> [[Int]] {
        (0..<dense.config.layerCount).map { layer in
            let name = LlamaTensorNames.Layer.down.name(layer: layer)
            let before = dense.tensor(name)!, after = pruned.tensor(name)!
            func column(_ tensor: Tensor, _ j: Int) -> [Float] {
                (0..<tensor.rows).map { tensor.storage.array[$0 * tensor.columns + j] }
            }
            let columns = (0..<before.columns).map { column(before, $0) }
            return (0..<after.columns).map { j in columns.firstIndex(of: column(after, j))! }
        }
    }

    @Test("FLAP UL-UM: 48 − Int(0.3·48) = 34 kept rounds to 32; the 16 removed include FLAP's own 14")
    func flapUniform() throws {
        let dense = try StructuredFixtures.model(layers: 4, seed: 19)
        let (plain, _) = try Self.prune(try FLAP(budget: .ratio(0.3), structure: .uniform))
        let (rounded, _) = try Self.prune(try FLAP(budget: .ratio(0.3), structure: .uniform, roundTo: 8))
        #expect(plain.config.layers.map(\.ffnSize) == [34, 34, 34, 34])
        #expect(rounded.config.layers.map(\.ffnSize) == [32, 32, 32, 32])
        for (kept, keptRounded) in zip(Self.keptChannels(dense, plain), Self.keptChannels(dense, rounded)) {
            #expect(Set(keptRounded).isSubset(of: Set(kept)))
        }
    }

    @Test("FLAP AL-AM: every layer's free width goes to the nearest multiple, removing its lowest channels")
    func flapAdaptive() throws {
        let dense = try StructuredFixtures.model(layers: 4, seed: 19)
        let (plain, _) = try Self.prune(try FLAP(budget: .ratio(0.3), bias: false))
        let (rounded, _) = try Self.prune(try FLAP(budget: .ratio(0.3), bias: false, roundTo: 8))
        let widths = plain.config.layers.map(\.ffnSize)
        #expect(Set(widths).count > 1, "AL-AM should leave the layers different widths: \(widths)")
        #expect(rounded.config.layers.map(\.ffnSize) == widths.map { max(8, ($0 + 4) / 8 * 8) })
        #expect(rounded.config.layers.map(\.kvHeadCount) == plain.config.layers.map(\.kvHeadCount))
        for (kept, keptRounded) in zip(Self.keptChannels(dense, plain), Self.keptChannels(dense, rounded)) {
            // One ranking per layer: the shorter kept list is part of the longer.
            #expect(Set(kept).isSubset(of: Set(keptRounded)) || Set(keptRounded).isSubset(of: Set(kept)))
        }
    }

    @Test("FLAP params 0.2 with round_to: widths are multiples and the budget is within one rounding step")
    func flapParameters() throws {
        let dense = try StructuredFixtures.model(layers: 4, seed: 19)
        let (model, report) = try Self.prune(
            try FLAP(budget: .parameters(0.2), structure: .uniform, bias: false, roundTo: 8))
        #expect(model.config.layers.allSatisfy { $0.ffnSize % 8 == 0 })
        let removed = Double(dense.parameterCount - model.parameterCount)
        // One step: 8 channels of gate, up and down (hidden 32) in each of the four layers.
        #expect(abs(removed - 0.2 * Double(dense.parameterCount)) <= Double(4 * 8 * 3 * 32), "removed \(removed)")
        #expect(report.modelSteps.first?.notes.first?.hasPrefix("params 0.2: ratio ") == true)
    }

    @Test("LLM-Pruner and channels{}: the reference's counts rounded, the channels still the lowest")
    func llmPrunerAndChannels() throws {
        let dense = try StructuredFixtures.model(layers: 4, seed: 19)
        let layers = [0, 1, 2, 3]
        let (plain, _) = try Self.prune(
            try LLMPruner(budget: .ratio(0.3), importance: .l2, attentionLayers: [], mlpLayers: layers))
        let (rounded, _) = try Self.prune(
            try LLMPruner(budget: .ratio(0.3), importance: .l2, attentionLayers: [], mlpLayers: layers, roundTo: 16))
        // The reference removes 48 − Int(48·0.7) = 15: 33 kept, rounded to 32.
        #expect(plain.config.layers.map(\.ffnSize) == [33, 33, 33, 33])
        #expect(rounded.config.layers.map(\.ffnSize) == [32, 32, 32, 32])
        for (kept, keptRounded) in zip(Self.keptChannels(dense, plain), Self.keptChannels(dense, rounded)) {
            #expect(Set(keptRounded).isSubset(of: Set(kept)))
        }
        let (global, _) = try Self.prune(
            try LLMPruner(
                budget: .ratio(0.3), importance: .l2, attentionLayers: [], mlpLayers: layers, global: true,
                roundTo: 16))
        #expect(global.config.layers.allSatisfy { $0.ffnSize % 16 == 0 })
        let (channels, _) = try Self.prune(try UnitRemoval(unit: .channels, criterion: .wandaSP, ratio: 0.3))
        let (channelsRounded, _) = try Self.prune(
            try UnitRemoval(unit: .channels, criterion: .wandaSP, ratio: 0.3, roundTo: 8))
        #expect(channels.config.layers.map(\.ffnSize) == [34, 34, 34, 34])
        #expect(channelsRounded.config.layers.map(\.ffnSize) == [32, 32, 32, 32])
        for (kept, keptRounded) in zip(Self.keptChannels(dense, channels), Self.keptChannels(dense, channelsRounded)) {
            #expect(Set(keptRounded).isSubset(of: Set(kept)))
        }
    }

    @Test("round_to below 1, or on heads and KV groups, is refused")
    func refusals() throws {
        #expect(throws: PruneError("flap: round_to must be at least 1, got 0")) {
            try FLAP(budget: .ratio(0.2), roundTo: 0)
        }
        #expect(throws: PruneError("llm-pruner: round_to must be at least 1, got -4")) {
            try LLMPruner(budget: .ratio(0.2), roundTo: -4)
        }
        #expect(
            throws: PruneError(
                "heads: round_to applies to FFN channels only (a head is already head_dim rows); leave it out")
        ) {
            try UnitRemoval(unit: .queryHeads, criterion: .magnitude, ratio: 0.5, roundTo: 8)
        }
    }
}
