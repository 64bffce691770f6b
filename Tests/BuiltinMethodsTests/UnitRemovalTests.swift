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
        _ unit: UnitRemoval.Unit, _ criterion: UnitRemoval.Criterion, ratio: Double, norm: Int = 2,
        iterative: Int? = nil, compensation: WidthCompensation = .none
    )
        throws -> Model
    {
        let model = try Self.model()
        let step = try UnitRemoval(
            unit: unit, criterion: criterion, ratio: ratio, norm: norm, iterative: iterative,
            compensation: compensation)
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

    /// The query heads (by their `attn_q` rows) `pruned` kept of `dense`, per layer.
    static func keptHeads(_ dense: Model, _ pruned: Model) -> [[Int]] {
        (0..<3).map { layer in
            let name = "blk.\(layer).attn_q.weight"
            let q = pruned.tensor(name)!.storage.array, rowsPerHead = 8 * 32
            return (0..<(q.count / rowsPerHead)).map { kept in
                let slice = Array(q[(kept * rowsPerHead)..<((kept + 1) * rowsPerHead)])
                return (0..<4).first { Self.rows(dense, name, Array(($0 * 8)..<(($0 + 1) * 8))) == slice }!
            }
        }
    }

    /// Per layer, the kept head of each KV group: the higher of its two scores.
    static func higherPerGroup(_ scores: [[Double]]) -> [[Int]] {
        scores.map { heads in (0..<2).map { g in heads[2 * g] >= heads[2 * g + 1] ? 2 * g : 2 * g + 1 } }
    }

    @Test("query heads by michel: Σ over every token of |⟨context, ∂L/∂context⟩|, all windows in one loss")
    func headsByMichel() throws {
        let dense = try Self.model()
        let importance = try ModelGradients(model: dense).gates(windows: Self.windows, units: [.heads], perToken: true)
        let model = try Self.prune(.queryHeads, .michel, ratio: 0.5)
        #expect(Self.keptHeads(dense, model) == Self.higherPerGroup(importance.layers.map(\.heads)))
    }

    @Test("query heads and KV groups by ablation: the loss increase with the unit's attn_output columns zeroed")
    func ablation() throws {
        let dense = try Self.model()
        /// The mean NLL over the windows of a fresh model with `columns` of layer's attn_output zeroed.
        func loss(_ layer: Int, _ columns: Range<Int>) throws -> Double {
            let model = try Self.model()
            let output = model.tensor("blk.\(layer).attn_output.weight")!
            for row in 0..<output.rows { for j in columns { output.storage.buffer[row * output.columns + j] = 0 } }
            let forward = try ForwardPass(model: model, capacity: 10)
            let values = try Self.windows.flatMap { try forward.negativeLogLikelihoods($0) }
            return values.reduce(0.0) { $0 + Double($1) } / Double(values.count)
        }
        let base = try loss(0, 0..<0)
        let heads = try (0..<3).map { layer in try (0..<4).map { try loss(layer, ($0 * 8)..<(($0 + 1) * 8)) - base } }
        let model = try Self.prune(.queryHeads, .ablation, ratio: 0.5)
        #expect(Self.keptHeads(dense, model) == Self.higherPerGroup(heads))
        // Every other weight is back as it was: the kept heads' attn_output columns are the dense ones.
        for (layer, kept) in Self.keptHeads(dense, model).enumerated() {
            let o = dense.tensor("blk.\(layer).attn_output.weight")!.storage.array
            var expected: [Float] = []
            for row in 0..<32 {
                for head in kept { expected += o[(row * 32 + head * 8)..<(row * 32 + head * 8 + 8)] }
            }
            #expect(model.tensor("blk.\(layer).attn_output.weight")!.storage.array == expected, "layer \(layer)")
        }
        let groups = try (0..<3).map { layer in try (0..<2).map { try loss(layer, ($0 * 16)..<(($0 + 1) * 16)) - base }
        }
        let grouped = try Self.prune(.kvGroups, .ablation, ratio: 0.5)
        for layer in 0..<3 {
            let kept = groups[layer][0] >= groups[layer][1] ? 0 : 1
            #expect(
                grouped.tensor("blk.\(layer).attn_k.weight")!.storage.array
                    == Self.rows(dense, "blk.\(layer).attn_k.weight", Array((kept * 8)..<((kept + 1) * 8))),
                "layer \(layer)")
        }
    }

    @Test("iterative = k removes k units per round, rescoring: the same as one step per round")
    func iterative() throws {
        let model = try Self.prune(.channels, .taylor, ratio: 0.5, iterative: 8)
        let rounds = try Self.model()
        for width in [48.0, 40, 32] {
            let step = try UnitRemoval(unit: .channels, criterion: .taylor, ratio: 8.5 / width)
            _ = try Pruner(model: rounds, steps: [step]).run(calibration: Self.windows)
        }
        #expect(model.config.layers.map(\.ffnSize) == [24, 24, 24])
        for layer in 0..<3 {
            for part in ["ffn_gate", "ffn_up", "ffn_down"] {
                let name = "blk.\(layer).\(part).weight"
                #expect(model.tensor(name)!.storage.array == rounds.tensor(name)!.storage.array, "\(name)")
            }
        }
        let oneShot = try Self.prune(.channels, .taylor, ratio: 0.5)
        #expect(
            (0..<3).contains {
                oneShot.tensor("blk.\($0).ffn_gate.weight")!.storage.array
                    != model.tensor("blk.\($0).ffn_gate.weight")!.storage.array
            },
            "rescoring changed nothing: the test cannot tell rounds from one shot")
    }

    @Test("compensation: bias adds W_S·x̄_S, ridge refits the kept columns to a lower output error than none or bias")
    func compensation() throws {
        let dense = try Self.model()
        let hidden = try Self.stream(dense, .ffnHidden)
        let none = try Self.prune(.channels, .magnitude, ratio: 0.5)
        let bias = try Self.prune(.channels, .magnitude, ratio: 0.5, compensation: .bias)
        let ridge = try Self.prune(.channels, .magnitude, ratio: 0.5, compensation: .ridge(lambda: 1e-6))
        for layer in 0..<3 {
            let gateName = "blk.\(layer).ffn_gate.weight", downName = "blk.\(layer).ffn_down.weight"
            let keptRows = none.tensor(gateName)!.storage.array
            let kept = (0..<24).map { k in
                (0..<48).first { Self.rows(dense, gateName, [$0]) == Array(keptRows[(k * 32)..<((k + 1) * 32)]) }!
            }
            let removed = (0..<48).filter { !kept.contains($0) }
            let w = dense.tensor(downName)!.storage.array
            let tokens = Double(hidden[layer].count * 10)
            let means = (0..<48).map { j in
                hidden[layer].reduce(0.0) { t, x in (0..<10).reduce(t) { $0 + Double(x[$1 * 48 + j]) } } / tokens
            }
            let expectedBias = (0..<32).map { row in removed.reduce(0.0) { $0 + Double(w[row * 48 + $1]) * means[$1] } }
            let actualBias = bias.tensor("blk.\(layer).ffn_down.bias")!.storage.array
            #expect(zip(actualBias, expectedBias).allSatisfy { abs(Double($0) - $1) < 1e-5 }, "layer \(layer) bias")
            #expect(bias.tensor(downName)!.storage.array == none.tensor(downName)!.storage.array)
            /// Σ over the calibration tokens of ‖W x − W' x_K − b‖².
            func error(_ model: Model) -> Double {
                let pruned = model.tensor(downName)!.storage.array
                let b = model.tensor("blk.\(layer).ffn_down.bias")?.storage.array ?? Array(repeating: 0, count: 32)
                var total = 0.0
                for x in hidden[layer] {
                    for t in 0..<10 {
                        for row in 0..<32 {
                            let full = (0..<48).reduce(0.0) { $0 + Double(w[row * 48 + $1]) * Double(x[t * 48 + $1]) }
                            let part = kept.indices.reduce(Double(b[row])) {
                                $0 + Double(pruned[row * 24 + $1]) * Double(x[t * 48 + kept[$1]])
                            }
                            total += (full - part) * (full - part)
                        }
                    }
                }
                return total
            }
            let (errorNone, errorBias, errorRidge) = (error(none), error(bias), error(ridge))
            #expect(
                errorRidge < errorNone && errorRidge < errorBias,
                "layer \(layer): \(errorRidge) vs \(errorNone), \(errorBias)")
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
        #expect(throws: PruneError("heads: iterative must be at least 1 unit per round, got 0")) {
            try UnitRemoval(unit: .queryHeads, criterion: .michel, ratio: 0.5, iterative: 0)
        }
        for (unit, criterion, words) in [
            (UnitRemoval.Unit.kvGroups, UnitRemoval.Criterion.michel, "use it with shears.heads{}"),
            (.channels, .ablation, "too many for FFN channels"),
        ] {
            do {
                _ = try UnitRemoval(unit: unit, criterion: criterion, ratio: 0.5)
                Issue.record("\(unit) \(criterion): not refused")
            } catch { #expect(error.message.contains(words), "\(error.message)") }
        }
        #expect(throws: PruneError("channels: compensation must be none, bias or ridge, got 'mean'")) {
            try WidthCompensation(name: "mean", lambda: 0, step: "channels")
        }
        #expect(throws: PruneError("channels: lambda must be a finite number ≥ 0, got -1.0")) {
            try WidthCompensation(name: "ridge", lambda: -1, step: "channels")
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
