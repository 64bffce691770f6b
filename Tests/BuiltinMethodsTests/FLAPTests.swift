import BuiltinMethods
import Inference
import ModelIO
import PruningEngine
import TestSupport
import Testing

/// FLAP against a direct transcription of the reference's statistics (`BiasGPT.add_batch`, token
/// by token, the mean updated before the deviations), its UL-UM thresholds, bias compensation and
/// the AL-AM cost budget.
@Suite struct FLAPTests {
    /// A four-layer tiny model.
    static func model() throws -> Model { try StructuredFixtures.model(layers: 4, seed: 31) }

    /// Six windows of 12 random ids.
    static let windows = StructuredFixtures.windows(6, length: 12, seed: 60)

    /// The reference's statistics of `site` in every layer over the dense stream: mean and
    /// fluctuation per channel, in the order `add_batch` computes them.
    static func referenceStatistics(
        _ model: Model, _ site: LinearInputSite
    ) throws -> [(mean: [Double], fluctuation: [Double])] {
        let inputs = try StructuredFixtures.denseInputs(model, windows, site)
        var result: [(mean: [Double], fluctuation: [Double])] = []
        for layer in 0..<model.config.layerCount {
            var mean: [Double] = [], fluctuation: [Double] = [], n = 0.0
            for observed in inputs[layer] {
                let width = observed.count / 12
                if mean.isEmpty {
                    mean = Array(repeating: 0, count: width)
                    fluctuation = Array(repeating: 0, count: width)
                }
                for j in 0..<width {
                    let column = (0..<12).map { Double(observed[$0 * width + j]) }
                    mean[j] = mean[j] * n / (n + 1) + column.reduce(0, +) / 12 / (n + 1)
                    if n > 0 {
                        let deviations = column.reduce(0.0) { $0 + ($1 - mean[j]) * ($1 - mean[j]) }
                        fluctuation[j] = fluctuation[j] * (n - 1) / n + deviations / (n + 1)
                    }
                }
                n += 1
            }
            result.append((mean, fluctuation))
        }
        return result
    }

    /// WIFV of every channel: fluctuation · ‖W_{:,j}‖² of the reading matrix.
    static func wifv(_ model: Model, _ part: LlamaTensorNames.Layer, _ layer: Int, _ fluctuation: [Double]) -> [Double]
    {
        let tensor = model.tensor(part.name(layer: layer))!, w = tensor.storage.array
        return (0..<tensor.columns).map { j -> Double in
            var norm = 0.0
            for row in 0..<tensor.rows {
                let value = Double(w[row * tensor.columns + j])
                norm += value * value
            }
            return fluctuation[j] * norm
        }
    }

    @Test("UL-UM: per layer the channels below the Int(ratio·n)-th lowest WIFV go, their mean comes back as a bias")
    func uniformChannels() throws {
        let dense = try Self.model(), model = try Self.model()
        let report = try Pruner(model: model, steps: [try FLAP(ratio: 0.25, structure: .uniform)])
            .run(calibration: Self.windows)
        let statistics = try Self.referenceStatistics(dense, .ffnHidden)
        #expect(model.config.layers.map(\.ffnSize) == [36, 36, 36, 36])
        #expect(model.config.layers.map(\.kvHeadCount) == [2, 2, 2, 2], "Int(0.25 · 2) = 0 KV groups")
        #expect(report.modelSteps[0].notes.count == 4)
        for layer in 0..<4 {
            let scores = Self.wifv(dense, .down, layer, statistics[layer].fluctuation)
            let threshold = scores.sorted()[12]
            let removed = (0..<48).filter { scores[$0] < threshold }
            #expect(removed.count == 12)
            let gate = dense.tensor("blk.\(layer).ffn_gate.weight")!.storage.array
            let kept = (0..<48).filter { !removed.contains($0) }
            #expect(
                model.tensor("blk.\(layer).ffn_gate.weight")!.storage.array
                    == kept.flatMap { gate[($0 * 32)..<(($0 + 1) * 32)] }, "layer \(layer)")
            let down = dense.tensor("blk.\(layer).ffn_down.weight")!.storage.array
            let expected = (0..<32).map { row in
                removed.reduce(0.0) {
                    $0 + Double(down[row * 48 + $1]) * Double(Float(Float16(statistics[layer].mean[$1])))
                }
            }
            let bias = model.bias(of: .down, layer: layer)!.storage.array
            let worst = zip(bias, expected).map { abs(Double($0) - $1) }.max()!
            #expect(worst <= 1e-5 * expected.map(abs).max()!, "layer \(layer) bias: \(worst)")
            #expect(model.bias(of: .attentionOutput, layer: layer) == nil)
        }
    }

    @Test("UL-UM at ratio 0.5 removes the KV group whose query heads' squared WIFV sums lower, with its bias")
    func uniformGroups() throws {
        let dense = try Self.model(), model = try Self.model()
        _ = try Pruner(model: model, steps: [try FLAP(ratio: 0.5, structure: .uniform)]).run(calibration: Self.windows)
        let statistics = try Self.referenceStatistics(dense, .attentionContext)
        #expect(model.config.layers.map(\.kvHeadCount) == [1, 1, 1, 1])
        #expect(model.config.layers.map(\.ffnSize) == [24, 24, 24, 24])
        for layer in 0..<4 {
            let squared = Self.wifv(dense, .attentionOutput, layer, statistics[layer].fluctuation).map { $0 * $0 }
            // Query heads 2g and 2g+1 (channels 16g..<16g+16) read KV head g.
            let groups = (0..<2).map { g in (0..<16).reduce(0.0) { $0 + squared[16 * g + $1] } / 2 }
            let removed = groups[0] < groups[1] ? 0 : 1
            let keys = dense.tensor("blk.\(layer).attn_k.weight")!.storage.array
            let kept = 1 - removed
            #expect(
                model.tensor("blk.\(layer).attn_k.weight")!.storage.array
                    == Array(keys[(kept * 8 * 32)..<((kept + 1) * 8 * 32)]), "layer \(layer)")
            #expect(model.bias(of: .attentionOutput, layer: layer) != nil)
        }
    }

    @Test("AL-AM removes about the ratio of the attention + FFN cost, per-layer counts free; bias = false adds none")
    func adaptive() throws {
        let model = try Self.model()
        let before = model.config
        _ = try Pruner(model: model, steps: [try FLAP(ratio: 0.3, bias: false)]).run(calibration: Self.windows)
        let cost = { (config: LlamaConfig) in
            config.layers.reduce(0.0) { total, shape in
                total + Double(shape.ffnSize) + Double(shape.kvHeadCount) * Double((2 * shape.groupSize + 2) * 8) / 3
            }
        }
        let removed = 1 - cost(model.config) / cost(before)
        #expect(abs(removed - 0.3) < 0.05, "removed \(removed) of the cost")
        #expect(
            Set(model.config.layers.map(\.ffnSize)).count > 1 || model.config.layers.map(\.ffnSize) != [48, 48, 48, 48])
        for layer in 0..<4 { #expect(model.bias(of: .down, layer: layer) == nil) }
    }

    @Test("a ratio outside [0, 1) is refused")
    func refusals() {
        #expect(throws: PruneError("flap: ratio must be in [0, 1), got 1.0")) { try FLAP(ratio: 1) }
        #expect(throws: PruneError("flap: ratio must be in [0, 1), got -0.1")) { try FLAP(ratio: -0.1) }
    }

    @Test("params with AL-AM: the removed weights come within one unit of the fraction asked for")
    func parameterBudget() throws {
        let model = try Self.model()
        let before = model.parameterCount
        let report = try Pruner(model: model, steps: [try FLAP(budget: .parameters(0.1), bias: false)])
            .run(calibration: Self.windows)
        let removed = Double(before - model.parameterCount) / Double(before)
        // A KV group is (2·2 + 2)·8·32 = 1536 parameters, the largest unit.
        #expect(abs(removed - 0.1) <= 1536.0 / Double(before), "removed \(removed)")
        #expect(report.modelSteps[0].notes.contains { $0.hasPrefix("params 0.1: ratio ") })
    }
}
