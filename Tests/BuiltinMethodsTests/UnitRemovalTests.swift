import BuiltinMethods
import Inference
import ModelIO
import PruningEngine
import TestSupport
import Testing

/// `shears.heads{}`, `shears.kv_groups{}`, `shears.channels{}`: each criterion's unit scores
/// computed here independently, the lowest removed, query heads equally per KV group, refusals.
@Suite struct UnitRemovalTests {
    /// A three-layer tiny model.
    static func model() throws -> Model { try StructuredFixtures.model(layers: 3, seed: 41) }

    /// Five windows of 10 random ids.
    static let windows = StructuredFixtures.windows(5, length: 10, seed: 80)

    /// Every window's `site` input of every layer over the dense stream, `[layer][window]`.
    static func stream(_ model: Model, _ site: LinearInputSite) throws -> [[[Float]]] {
        try StructuredFixtures.denseInputs(model, windows, site)
    }

    /// The indices of the `count` lowest of `scores`.
    static func lowest(_ scores: [Double], _ count: Int) -> [Int] {
        Array(scores.indices.sorted { (scores[$0], $0) < (scores[$1], $1) }.prefix(count)).sorted()
    }

    /// Runs one step on a fresh model; returns it.
    static func prune(
        _ unit: UnitRemoval.Unit, _ criterion: UnitRemoval.Criterion, ratio: Double, norm: Int = 2
    )
        throws -> Model
    {
        let model = try Self.model()
        let step = try UnitRemoval(unit: unit, criterion: criterion, ratio: ratio, norm: norm)
        _ = try Pruner(model: model, steps: [step]).run(calibration: windows)
        return model
    }

    /// The rows of `name` in `dense` at `kept`.
    static func rows(_ dense: Model, _ name: String, _ kept: [Int]) -> [Float] {
        let tensor = dense.tensor(name)!, w = tensor.storage.array
        return kept.flatMap { w[($0 * tensor.columns)..<(($0 + 1) * tensor.columns)] }
    }

    @Test("channels by magnitude (L1 and L2 of gate row + up row + down column) and by wanda_sp")
    func channels() throws {
        let dense = try Self.model()
        let hidden = try Self.stream(dense, .ffnHidden)
        for (criterion, norm) in [(UnitRemoval.Criterion.magnitude, 1), (.magnitude, 2), (.wandaSP, 2)] {
            let model = try Self.prune(.channels, criterion, ratio: 0.25, norm: norm)
            #expect(model.config.layers.map(\.ffnSize) == [36, 36, 36])
            for layer in 0..<3 {
                let gate = dense.tensor("blk.\(layer).ffn_gate.weight")!.storage.array
                let up = dense.tensor("blk.\(layer).ffn_up.weight")!.storage.array
                let down = dense.tensor("blk.\(layer).ffn_down.weight")!.storage.array
                let scores = (0..<48).map { j -> Double in
                    if criterion == .wandaSP {
                        let meanSquares =
                            hidden[layer].reduce(0.0) { total, window in
                                total + (0..<10).reduce(0.0) { $0 + Double(window[$1 * 48 + j] * window[$1 * 48 + j]) }
                            } / 5
                        let absolute = (0..<32).reduce(0.0) { $0 + Double(abs(down[$1 * 48 + j])) } / 32
                        return absolute * meanSquares.squareRoot()
                    }
                    let power = { (x: Float) in norm == 1 ? Double(abs(x)) : Double(x * x) }
                    let rows = (0..<32).reduce(0.0) { $0 + power(gate[j * 32 + $1]) + power(up[j * 32 + $1]) }
                    return rows + (0..<32).reduce(0.0) { $0 + power(down[$1 * 48 + j]) }
                }
                let removed = Self.lowest(scores, 12)
                let kept = (0..<48).filter { !removed.contains($0) }
                #expect(
                    model.tensor("blk.\(layer).ffn_gate.weight")!.storage.array
                        == Self.rows(dense, "blk.\(layer).ffn_gate.weight", kept),
                    "\(criterion) L\(norm) layer \(layer)")
            }
        }
    }

    @Test("query heads by taylor (Σ over windows of |∂L/∂gate|) go equally from each KV group")
    func headsByTaylor() throws {
        let dense = try Self.model()
        let model = try Self.prune(.queryHeads, .taylor, ratio: 0.5)
        #expect(model.config.layers.map(\.headCount) == [2, 2, 2])
        #expect(model.config.layers.map(\.kvHeadCount) == [2, 2, 2])
        var scores = Array(repeating: [Double](repeating: 0, count: 4), count: 3)
        for window in Self.windows {
            let gates = try ModelGradients(model: dense).gates(windows: [window], units: [.heads])
            for layer in 0..<3 { for head in 0..<4 { scores[layer][head] += abs(gates.layers[layer].heads[head]) } }
        }
        for layer in 0..<3 {
            let kept = (0..<2).map { group in
                scores[layer][2 * group] >= scores[layer][2 * group + 1] ? 2 * group : 2 * group + 1
            }
            let expected = Self.rows(
                dense, "blk.\(layer).attn_q.weight", kept.flatMap { Array(($0 * 8)..<(($0 + 1) * 8)) })
            #expect(model.tensor("blk.\(layer).attn_q.weight")!.storage.array == expected, "layer \(layer)")
        }
    }

    @Test("KV groups by minitron: the L2 over the group's channels of √Σ_windows (mean_t |x|)²")
    func groupsByMinitron() throws {
        let dense = try Self.model()
        let context = try Self.stream(dense, .attentionContext)
        let model = try Self.prune(.kvGroups, .minitron, ratio: 0.5)
        #expect(model.config.layers.map(\.kvHeadCount) == [1, 1, 1])
        for layer in 0..<3 {
            let channels = (0..<32).map { j in
                context[layer].reduce(0.0) { total, window in
                    let mean = (0..<10).reduce(0.0) { $0 + Double(abs(window[$1 * 32 + j])) } / 10
                    return total + mean * mean
                }.squareRoot()
            }
            let groups = (0..<2).map { g in (0..<16).reduce(0.0) { $0 + channels[16 * g + $1] * channels[16 * g + $1] }
            }
            let kept = groups[0] >= groups[1] ? 0 : 1
            #expect(
                model.tensor("blk.\(layer).attn_k.weight")!.storage.array
                    == Self.rows(dense, "blk.\(layer).attn_k.weight", Array((kept * 8)..<((kept + 1) * 8))),
                "layer \(layer)")
        }
    }

    @Test("a bad ratio or norm, a layer out of range or without the sub-block is refused")
    func refusals() throws {
        #expect(throws: PruneError("heads: ratio must be in [0, 1), got 1.0")) {
            try UnitRemoval(unit: .queryHeads, criterion: .magnitude, ratio: 1)
        }
        #expect(throws: PruneError("channels: norm must be 1 or 2, got 3")) {
            try UnitRemoval(unit: .channels, criterion: .magnitude, ratio: 0.5, norm: 3)
        }
        let heterogeneous = try TinyModel.heterogeneous()
        for (step, message) in [
            (
                try UnitRemoval(unit: .queryHeads, criterion: .magnitude, ratio: 0.5, layers: [2]),
                "layer 2 has no attention"
            ),
            (try UnitRemoval(unit: .channels, criterion: .magnitude, ratio: 0.5, layers: [4]), "layer 4 has no FFN"),
            (try UnitRemoval(unit: .kvGroups, criterion: .magnitude, ratio: 0.5, layers: [9]), "layer 9 is outside"),
        ] {
            do {
                _ = try Pruner(model: heterogeneous, steps: [step]).run(calibration: Self.windows)
                Issue.record("\(message): not refused")
            } catch { #expect(error.message.contains(message), "\(error.message)") }
        }
    }
}
