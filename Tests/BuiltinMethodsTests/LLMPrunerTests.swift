import BuiltinMethods
import Inference
import ModelIO
import PruningEngine
import TestSupport
import Testing

/// LLM-Pruner's block-wise step: unit scores from the dense gradient summed over exactly the
/// removed slices, the reference's rounding, the default layer range, and refusals that change
/// nothing.
@Suite struct LLMPrunerTests {
    /// An eight-layer tiny model.
    static func model() throws -> Model { try StructuredFixtures.model(layers: 8, seed: 21) }

    /// Four windows of 16 random ids.
    static let windows = StructuredFixtures.windows(4, length: 16, seed: 90)

    /// Every tensor's dense gradient and Fisher estimate (as arrays).
    static func gradients(_ model: Model) throws -> [String: (g: [Float], f: [Float])] {
        var result: [String: (g: [Float], f: [Float])] = [:]
        try ModelGradients(model: model).weights(windows: windows, fisher: true) {
            result[$0.name] = ($0.gradient.array, $0.squared!.array)
        }
        return result
    }

    /// The element salience of `importance`.
    static func salience(_ importance: LLMPruner.Importance, w: Float, g: Float, f: Float) -> Double {
        switch importance {
        case .paramFirst, .vectorize: Double(w * g)
        case .paramSecond: Double(w * f * w)
        case .paramMix: Double(w * g - 0.5 * w * f * w)
        case .l1: Double(abs(w))
        case .l2: Double(w * w)
        case .random: preconditionFailure("random importance has no element salience")
        }
    }

    /// Per row (or column) of `name`, the slice value of `importance`.
    static func slices(
        _ dense: Model, _ gradients: [String: (g: [Float], f: [Float])], _ name: String, byColumn: Bool,
        _ importance: LLMPruner.Importance
    ) -> [Double] {
        let tensor = dense.tensor(name)!, w = tensor.storage.array, (g, f) = gradients[name]!
        var sums = [Double](repeating: 0, count: byColumn ? tensor.columns : tensor.rows)
        for r in 0..<tensor.rows {
            for c in 0..<tensor.columns {
                let s = salience(
                    importance, w: w[r * tensor.columns + c], g: g[r * tensor.columns + c],
                    f: f[r * tensor.columns + c])
                sums[byColumn ? c : r] += importance == .vectorize ? s : abs(s)
            }
        }
        return importance == .vectorize ? sums.map(abs) : sums
    }

    /// Runs the step alone on a fresh model.
    static func prune(_ step: LLMPruner) throws -> (Model, PruneReport) {
        let model = try Self.model()
        let report = try Pruner(model: model, steps: [step]).run(calibration: windows)
        return (model, report)
    }

    @Test("FFN channels: the lowest of gate rows + up rows + down columns go, for every importance and grouping")
    func channels() throws {
        let dense = try Self.model(), gradients = try Self.gradients(dense)
        for importance in LLMPruner.Importance.allCases where importance != .random {
            for grouping in LLMPruner.Grouping.allCases {
                let (model, report) = try Self.prune(
                    try LLMPruner(ratio: 0.25, importance: importance, grouping: grouping))
                #expect(model.config.layers.map(\.ffnSize) == [48, 48, 48, 48, 36, 36, 48, 48])
                #expect(model.config.layers.map(\.kvHeadCount) == Array(repeating: 2, count: 8), "no whole head")
                #expect(
                    report.modelSteps[0].notes == [
                        "removed layer 4: 12 of 48 FFN channels", "removed layer 5: 12 of 48 FFN channels",
                    ])
                for layer in [4, 5] {
                    let members = [
                        Self.slices(dense, gradients, "blk.\(layer).ffn_gate.weight", byColumn: false, importance),
                        Self.slices(dense, gradients, "blk.\(layer).ffn_up.weight", byColumn: false, importance),
                        Self.slices(dense, gradients, "blk.\(layer).ffn_down.weight", byColumn: true, importance),
                    ]
                    let scores = (0..<48).map { j in
                        let values = members.map { $0[j] }
                        return switch grouping {
                        case .sum: values.reduce(0, +)
                        case .mean: values.reduce(0, +) / 3
                        case .max: values.max()!
                        case .prod: values.reduce(1, *)
                        }
                    }
                    let kept = Array((0..<48).sorted { (scores[$0], $0) < (scores[$1], $1) }.dropFirst(12)).sorted()
                    let gate = dense.tensor("blk.\(layer).ffn_gate.weight")!.storage.array
                    let expected = kept.flatMap { gate[($0 * 32)..<(($0 + 1) * 32)] }
                    #expect(
                        model.tensor("blk.\(layer).ffn_gate.weight")!.storage.array == expected,
                        "\(importance) \(grouping) layer \(layer)")
                }
            }
        }
    }

    @Test("random importance: seeded standard normal draws per FFN channel, then per KV group, the lowest go")
    func random() throws {
        let dense = try Self.model()
        let (model, report) = try Self.prune(
            try LLMPruner(ratio: 0.5, importance: .random, attentionLayers: [2, 6], mlpLayers: [5, 3], seed: 7))
        #expect(model.config.layers.map(\.ffnSize) == [48, 48, 48, 24, 48, 24, 48, 48])
        #expect(model.config.layers.map(\.kvHeadCount) == [2, 2, 1, 2, 2, 2, 1, 2])
        #expect(report.modelSteps[0].notes.count == 4)
        var source = NormalSource(seed: 7)
        let channels = [3, 5].map { _ in (0..<48).map { _ in source.next() } }
        let groups = [2, 6].map { _ in (0..<2).map { _ in source.next() } }
        for (index, layer) in [3, 5].enumerated() {
            let kept = Array((0..<48).sorted { (channels[index][$0], $0) < (channels[index][$1], $1) }.dropFirst(24))
                .sorted()
            let gate = dense.tensor("blk.\(layer).ffn_gate.weight")!.storage.array
            #expect(
                model.tensor("blk.\(layer).ffn_gate.weight")!.storage.array
                    == kept.flatMap { gate[($0 * 32)..<(($0 + 1) * 32)] }, "layer \(layer)")
        }
        for (index, layer) in [2, 6].enumerated() {
            let kept = groups[index][0] <= groups[index][1] ? 1 : 0
            let keys = dense.tensor("blk.\(layer).attn_k.weight")!.storage.array
            #expect(
                model.tensor("blk.\(layer).attn_k.weight")!.storage.array
                    == Array(keys[(kept * 8 * 32)..<((kept + 1) * 8 * 32)]), "layer \(layer)")
        }
        let (other, _) = try Self.prune(
            try LLMPruner(ratio: 0.5, importance: .random, attentionLayers: [2, 6], mlpLayers: [5, 3], seed: 8))
        #expect(
            other.tensor("blk.3.ffn_gate.weight")!.storage.array
                != model.tensor("blk.3.ffn_gate.weight")!.storage.array,
            "another seed draws other channels")
    }

    @Test("a KV group's score covers its own query heads, k, v and o columns; whole heads are removed")
    func kvGroups() throws {
        let dense = try Self.model(), gradients = try Self.gradients(dense)
        let (model, report) = try Self.prune(try LLMPruner(ratio: 0.5, attentionLayers: [2, 6], mlpLayers: []))
        #expect(model.config.layers.map(\.kvHeadCount) == [2, 2, 1, 2, 2, 2, 1, 2])
        #expect(model.config.layers.map(\.headCount) == [4, 4, 2, 4, 4, 4, 2, 4])
        #expect(
            report.modelSteps[0].notes == ["removed layer 2: 1 of 2 KV groups", "removed layer 6: 1 of 2 KV groups"])
        for layer in [2, 6] {
            let q = Self.slices(dense, gradients, "blk.\(layer).attn_q.weight", byColumn: false, .paramFirst)
            let k = Self.slices(dense, gradients, "blk.\(layer).attn_k.weight", byColumn: false, .paramFirst)
            let v = Self.slices(dense, gradients, "blk.\(layer).attn_v.weight", byColumn: false, .paramFirst)
            let o = Self.slices(dense, gradients, "blk.\(layer).attn_output.weight", byColumn: true, .paramFirst)
            // Group g: KV head g (rows 8g..<8g+8 of k and v), query heads 2g and 2g+1 (rows and o columns 16g..<16g+16).
            let scores = (0..<2).map { g -> Double in
                let kv: Double = (0..<8).reduce(0.0) { $0 + k[8 * g + $1] + v[8 * g + $1] }
                let heads: Double = (0..<16).reduce(0.0) { $0 + q[16 * g + $1] + o[16 * g + $1] }
                return kv + heads
            }
            let kept = scores[0] <= scores[1] ? 1 : 0
            let keys = dense.tensor("blk.\(layer).attn_k.weight")!.storage.array
            #expect(
                model.tensor("blk.\(layer).attn_k.weight")!.storage.array
                    == Array(keys[(kept * 8 * 32)..<((kept + 1) * 8 * 32)]), "layer \(layer) kept group \(kept)")
        }
    }

    @Test("global ranking: one threshold over every chosen layer's KV groups and FFN channels, the reference's count")
    func globalRanking() throws {
        let dense = try Self.model(), gradients = try Self.gradients(dense)
        var units: [(score: Double, layer: Int, index: Int, isGroup: Bool)] = []
        for layer in [4, 5] {
            let gate = Self.slices(dense, gradients, "blk.\(layer).ffn_gate.weight", byColumn: false, .l2)
            let up = Self.slices(dense, gradients, "blk.\(layer).ffn_up.weight", byColumn: false, .l2)
            let down = Self.slices(dense, gradients, "blk.\(layer).ffn_down.weight", byColumn: true, .l2)
            for j in 0..<48 { units.append(((gate[j] + up[j] + down[j]) / 3, layer, j, false)) }
            let q = Self.slices(dense, gradients, "blk.\(layer).attn_q.weight", byColumn: false, .l2)
            let k = Self.slices(dense, gradients, "blk.\(layer).attn_k.weight", byColumn: false, .l2)
            let v = Self.slices(dense, gradients, "blk.\(layer).attn_v.weight", byColumn: false, .l2)
            let o = Self.slices(dense, gradients, "blk.\(layer).attn_output.weight", byColumn: true, .l2)
            for g in 0..<2 {
                // Per key channel d: mean of k, v and q, o folded over the group's two heads.
                let score = (0..<8).reduce(0.0) { total, d in
                    let folded = { (values: [Double]) in values[16 * g + d] + values[16 * g + 8 + d] }
                    return total + (k[8 * g + d] + v[8 * g + d] + folded(q) + folded(o)) / 4
                }
                units.append((score, layer, g, true))
            }
        }
        // 100 units; 96 FFN channels + 4 groups × 8 key channels = 128 channels: n = 100 − int(128·0.6) = 24.
        let threshold = units.map(\.score).sorted()[23]
        let (model, _) = try Self.prune(try LLMPruner(ratio: 0.4, importance: .l2, global: true))
        for layer in [4, 5] {
            let removed = units.filter { $0.layer == layer && $0.score <= threshold }
            #expect(model.config.layers[layer].ffnSize == 48 - removed.filter { !$0.isGroup }.count, "layer \(layer)")
            #expect(model.config.layers[layer].kvHeadCount == 2 - removed.filter(\.isGroup).count, "layer \(layer)")
            let kept = (0..<48).filter { j in !removed.contains { !$0.isGroup && $0.index == j } }
            let gate = dense.tensor("blk.\(layer).ffn_gate.weight")!.storage.array
            #expect(
                model.tensor("blk.\(layer).ffn_gate.weight")!.storage.array
                    == kept.flatMap { gate[($0 * 32)..<(($0 + 1) * 32)] }, "layer \(layer)")
        }
        #expect(units.filter { $0.score <= threshold }.count == 24)
    }

    @Test("by default the first four and the last two layers are kept")
    func defaultLayers() {
        #expect(LLMPruner.defaultLayers(30) == Array(4...27))
        #expect(LLMPruner.defaultLayers(8) == [4, 5])
        #expect(LLMPruner.defaultLayers(5).isEmpty)
    }

    @Test("a ratio that would empty a layer, a layer out of range or a bad ratio is refused and changes nothing")
    func refusals() throws {
        #expect(throws: PruneError("llm-pruner: ratio must be in [0, 1), got 1.0")) { try LLMPruner(ratio: 1) }
        for (step, message) in [
            (try LLMPruner(ratio: 0.99, attentionLayers: [], mlpLayers: [3]), "every FFN channel of layer 3"),
            (try LLMPruner(ratio: 0.99, attentionLayers: [1], mlpLayers: []), "every KV group of layer 1"),
            (try LLMPruner(ratio: 0.5, attentionLayers: [8], mlpLayers: []), "layer 8 is outside 0..<8"),
        ] {
            let model = try Self.model()
            let before = model.config
            do {
                _ = try Pruner(model: model, steps: [step]).run(calibration: Self.windows)
                Issue.record("\(message): not refused")
            } catch { #expect(error.message.contains(message), "\(error.message)") }
            #expect(model.config == before)
        }
        #expect(throws: PruneError("llm-pruner needs calibration windows")) {
            try Pruner(model: try Self.model(), steps: [try LLMPruner(ratio: 0.2)]).run(calibration: [])
        }
    }

    @Test("params: the ratio whose removals come closest to a fraction of all parameters is found")
    func parameterBudget() throws {
        let before = try Self.model().parameterCount
        let (model, report) = try Self.prune(try LLMPruner(budget: .parameters(0.03)))
        let removed = Double(before - model.parameterCount) / Double(before)
        // One FFN channel in each of the two chosen layers is 96 parameters of ~51k: the closest
        // achievable fraction is within one step of the target.
        #expect(abs(removed - 0.03) <= 2.0 * 96 / Double(before), "removed \(removed)")
        #expect(report.modelSteps[0].notes.first?.hasPrefix("params 0.03: ratio ") == true)
        let arguments = try MethodRegistry.llmPruner.arguments(["ratio": .number(0.2), "params": .number(0.1)])
        #expect(throws: PruneError("llm_pruner: give ratio or params, not both")) {
            try MethodRegistry.llmPruner.makeSteps(arguments)
        }
    }
}
