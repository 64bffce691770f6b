import ModelIO
import PruningEngine
import SeededRandom

/// Model step: LLM-Pruner's block-wise structured pruning (Ma et al. 2023, `hf_prune.py`,
/// `llama3.py` and `TaylorImportance` of the reference): one gradient of the dense model's mean
/// next-token loss over the calibration windows, per-unit Taylor importance summed over the
/// unit's slices, and in every chosen layer the least important FFN channels and KV groups
/// removed, `ratio` of each (the reference's `n = current − int(initial·(1 − ratio))`, whole
/// heads for attention: `n // head_dim` KV groups).
///
/// Units and their slices: an FFN channel is a row of `ffn_gate` and `ffn_up` and a column of
/// `ffn_down`; a KV group is the rows of `attn_k` and `attn_v` of its head, the rows of `attn_q`
/// of the query heads reading it and their columns of `attn_output`. Per slice, the element
/// salience `s` (`W⊙g`; `W⊙F⊙W` for `param_second`; `W⊙g − ½·W⊙F⊙W` for `param_mix`) becomes a
/// per-channel value (`Σ|s|` over the slice's row or column; `|Σ s|` for `vectorize`); the
/// members' values are reduced per channel by `grouping` and, for attention, summed over the
/// head's channels. Deviation, as the spec asks: the reference folds query channels onto key
/// channels with `view(n_rep, −1)`, which pairs key head g with query heads g, g+H_kv, …;
/// here each KV group's score covers exactly the query heads that are removed with it.
public struct LLMPruner: ModelStep {
    /// How an element's salience is computed and reduced (the reference's `--taylor`).
    public enum Importance: String, CaseIterable, Sendable {
        /// `Σ|W⊙g|` (the reference's default).
        case paramFirst = "param_first"
        /// `Σ|W⊙F⊙W|`, F the Fisher diagonal.
        case paramSecond = "param_second"
        /// `Σ|W⊙g − ½·W⊙F⊙W|` (the paper's Element²).
        case paramMix = "param_mix"
        /// `|Σ W⊙g|` per slice (the paper's Vector).
        case vectorize
        /// `Σ|W|` (the reference's `--pruner_type l1`, no gradient).
        case l1
        /// `Σ W²` (the reference's `--pruner_type l2`, no gradient).
        case l2
        /// A seeded random score per unit (the reference's `--pruner_type random`, no gradient).
        case random

        /// Whether the Fisher estimate is needed.
        var needsFisher: Bool { self == .paramSecond || self == .paramMix }
        /// Whether the scores need a gradient.
        var needsGradient: Bool { self != .l1 && self != .l2 && self != .random }
        /// The member reduction the reference uses when none is given: `mean` for its
        /// `MagnitudeImportance`, `sum` for its Taylor importance.
        public var defaultGrouping: Grouping { needsGradient ? .sum : .mean }
    }

    /// How a unit's members are combined per channel (the reference's `--grouping_strategy`).
    public enum Grouping: String, CaseIterable, Sendable {
        case sum, mean, max, prod
    }

    /// How much to remove: the fraction of each chosen layer's FFN channels and KV channels
    /// (the reference's `--pruning_ratio`), or a fraction of the model's parameters.
    public let budget: StructuredBudget
    /// The element salience.
    public let importance: Importance
    /// The member reduction.
    public let grouping: Grouping
    /// Layers whose KV groups are pruned (nil: the reference's default, all but the first four
    /// and the last two).
    public let attentionLayers: [Int]?
    /// Layers whose FFN channels are pruned (nil: as `attentionLayers`'s default).
    public let mlpLayers: [Int]?
    /// Whether every chosen layer's units are ranked together (the reference's
    /// `--global_pruning`) instead of per layer.
    public let global: Bool
    /// Kept FFN widths are rounded to a multiple of this (1: the reference's counts).
    public var roundTo: Int { rounding.multiple }
    /// The rounding of kept FFN widths.
    let rounding: WidthRounding
    /// The seed of `random` importance.
    public let seed: UInt64

    /// "llm-pruner".
    public var name: String { "llm-pruner" }

    /// - Throws: `PruneError` for a ratio or parameter fraction outside [0, 1), or `roundTo < 1`.
    public init(
        budget: StructuredBudget, importance: Importance = .paramFirst, grouping: Grouping? = nil,
        attentionLayers: [Int]? = nil, mlpLayers: [Int]? = nil, global: Bool = false, roundTo: Int = 1,
        seed: UInt64 = 0
    ) throws(PruneError) {
        try budget.check(step: "llm-pruner")
        self.rounding = try WidthRounding(roundTo, step: "llm-pruner")
        guard !(global && budget.isPerLayer) else {
            throw PruneError("llm-pruner: global ranking takes one ratio for the model, not one per layer")
        }
        self.seed = seed
        self.budget = budget
        self.importance = importance
        self.grouping = grouping ?? importance.defaultGrouping
        self.attentionLayers = attentionLayers
        self.mlpLayers = mlpLayers
        self.global = global
    }

    /// LLM-Pruner with its own `ratio`.
    ///
    /// - Throws: `PruneError` for a ratio outside [0, 1).
    public init(
        ratio: Double, importance: Importance = .paramFirst, grouping: Grouping? = nil, attentionLayers: [Int]? = nil,
        mlpLayers: [Int]? = nil, global: Bool = false, seed: UInt64 = 0
    ) throws(PruneError) {
        try self.init(
            budget: .ratio(ratio), importance: importance, grouping: grouping, attentionLayers: attentionLayers,
            mlpLayers: mlpLayers, global: global, seed: seed)
    }

    /// The layers pruned by default in an `layers`-layer model: all but the first four and the
    /// last two (the reference's recipe, `[4, 30)` for LLaMA-7B's 32).
    public static func defaultLayers(_ layers: Int) -> [Int] { Array(stride(from: 4, to: layers - 2, by: 1)) }

    /// Scores every unit from one gradient pass, checks every removal, then removes them.
    public func run(model work: ModelWork) throws(PruneError) {
        let model = work.model, config = model.config
        let defaults = Self.defaultLayers(config.layerCount)
        let attention = try config.checkedLayers(attentionLayers ?? defaults, step: name)
        let mlp = try config.checkedLayers(mlpLayers ?? defaults, step: name)
        var members: [String: [Double]] = [:]
        let wanted = Set(
            attention.flatMap { layer in
                [LlamaTensorNames.Layer.query, .key, .value, .attentionOutput].map { $0.name(layer: layer) }
            } + mlp.flatMap { layer in [LlamaTensorNames.Layer.gate, .up, .down].map { $0.name(layer: layer) } })
        if importance == .random {
            // No member values: `randomScores` scores the units directly.
        } else if importance.needsGradient {
            _ = try work.gradients(fisher: importance.needsFisher) { name, gradient throws(PruneError) in
                guard wanted.contains(name), let tensor = model.tensor(name), let parsed = LlamaTensorNames.parse(name)
                else { return }
                members[name] = channelValues(tensor, parsed.part, gradient, config)
            }
        } else {
            for name in wanted {
                let tensor = model.tensor(name)!, parsed = LlamaTensorNames.parse(name)!
                members[name] = channelValues(tensor, parsed.part, nil, config)
            }
        }
        let (mlpScores, groupScores) =
            importance == .random
            ? randomScores(mlp, attention, config) : try taylorScores(members, mlp, attention, config)
        /// The removals at each layer's ratio, with their notes.
        func plan(_ ratioOf: (Int) -> Double) throws(PruneError) -> [(StructuralRemoval, String)] {
            if global { return try globalPlan(ratioOf(0), mlpScores, groupScores, config) }
            var removals: [(StructuralRemoval, String)] = []
            for (layer, scores) in mlpScores.sorted(by: { $0.key < $1.key }) {
                let width = scores.count, ratio = ratioOf(layer)
                let count = rounding.removed(width - Int(Double(width) * (1 - ratio)), of: width)
                guard count > 0 else { continue }
                guard count < width else {
                    throw PruneError("llm-pruner: ratio \(ratio) removes every FFN channel of layer \(layer); lower it")
                }
                removals.append(
                    (
                        .ffnChannels(layer: layer, Self.lowest(scores, count)),
                        "layer \(layer): \(count) of \(width) FFN channels"
                    ))
            }
            for (layer, scores) in groupScores.sorted(by: { $0.key < $1.key }) {
                let shape = config.layers[layer], width = shape.kvHeadCount * config.headDim, ratio = ratioOf(layer)
                let groups = (width - Int(Double(width) * (1 - ratio))) / config.headDim
                guard groups > 0 else { continue }
                guard groups < shape.kvHeadCount else {
                    throw PruneError(
                        "llm-pruner: ratio \(ratio) removes every KV group of layer \(layer) (\(shape.kvHeadCount)); lower it"
                    )
                }
                removals.append(
                    (
                        .kvGroups(layer: layer, Self.lowest(scores, groups)),
                        "layer \(layer): \(groups) of \(shape.kvHeadCount) KV groups"
                    ))
            }
            return removals
        }
        try budget.apply(to: work, step: name, layerPlan: plan)
    }

    /// Per chosen layer, the FFN channels' and the KV groups' scores from the members' values.
    private func taylorScores(
        _ members: [String: [Double]], _ mlp: [Int], _ attention: [Int], _ config: LlamaConfig
    ) throws(PruneError) -> ([Int: [Double]], [Int: [Double]]) {
        let mlpScores = Dictionary(
            uniqueKeysWithValues: mlp.filter { config.layers[$0].hasFFN }.map { layer in
                (
                    layer,
                    (0..<config.layers[layer].ffnSize).map { j in
                        reduce([
                            members[LlamaTensorNames.Layer.gate.name(layer: layer)]![j],
                            members[LlamaTensorNames.Layer.up.name(layer: layer)]![j],
                            members[LlamaTensorNames.Layer.down.name(layer: layer)]![j],
                        ])
                    }
                )
            })
        var groupScores: [Int: [Double]] = [:]
        for layer in attention where config.layers[layer].hasAttention {
            groupScores[layer] = try kvGroupScores(members, layer, config)
        }
        return (mlpScores, groupScores)
    }

    /// Per chosen layer, a seeded random score per FFN channel and per KV group (standard normal
    /// draws: their order is a uniform random permutation), the FFN layers' channels first, each
    /// by ascending layer.
    private func randomScores(
        _ mlp: [Int], _ attention: [Int], _ config: LlamaConfig
    ) -> ([Int: [Double]], [Int: [Double]]) {
        var source = NormalSource(seed: seed)
        var mlpScores: [Int: [Double]] = [:], groupScores: [Int: [Double]] = [:]
        for layer in mlp.sorted() where config.layers[layer].hasFFN {
            mlpScores[layer] = (0..<config.layers[layer].ffnSize).map { _ in source.next() }
        }
        for layer in attention.sorted() where config.layers[layer].hasAttention {
            groupScores[layer] = (0..<config.layers[layer].kvHeadCount).map { _ in source.next() }
        }
        return (mlpScores, groupScores)
    }

    /// The reference's `prune_global`: every KV group (one score, its channels summed) and FFN
    /// channel of the chosen layers in one list, `n = units − int(channels·(1 − ratio))` of them
    /// pruned by threshold (every unit scoring at most the n-th lowest), where `channels` counts a
    /// KV group as its `headDim` key channels — the reference's own arithmetic, which prunes more
    /// units than `ratio` of them. With `roundTo`, each layer then keeps its rounded FFN width
    /// (its lowest channels removed).
    private func globalPlan(
        _ ratio: Double, _ mlpScores: [Int: [Double]], _ groupScores: [Int: [Double]], _ config: LlamaConfig
    ) throws(PruneError) -> [(StructuralRemoval, String)] {
        let all = mlpScores.values.flatMap { $0 } + groupScores.values.flatMap { $0 }
        let channels =
            mlpScores.values.reduce(0) { $0 + $1.count }
            + groupScores.values.reduce(0) {
                $0 + $1.count * config.headDim
            }
        let count = all.count - Int(Double(channels) * (1 - ratio))
        guard count > 0 else { return [] }
        guard count < all.count else { throw PruneError("llm-pruner: ratio \(ratio) removes every unit; lower it") }
        let threshold = all.sorted()[count - 1]
        var removals: [(StructuralRemoval, String)] = []
        for (layer, scores) in mlpScores.sorted(by: { $0.key < $1.key }) {
            let below = scores.indices.filter { scores[$0] <= threshold }.count
            let chosen = Self.lowest(scores, rounding.removed(below, of: scores.count))
            guard !chosen.isEmpty else { continue }
            guard chosen.count < scores.count else {
                throw PruneError("llm-pruner: ratio \(ratio) removes every FFN channel of layer \(layer); lower it")
            }
            removals.append(
                (.ffnChannels(layer: layer, chosen), "layer \(layer): \(chosen.count) of \(scores.count) FFN channels"))
        }
        for (layer, scores) in groupScores.sorted(by: { $0.key < $1.key }) {
            let chosen = scores.indices.filter { scores[$0] <= threshold }
            guard !chosen.isEmpty else { continue }
            guard chosen.count < scores.count else {
                throw PruneError("llm-pruner: ratio \(ratio) removes every KV group of layer \(layer); lower it")
            }
            removals.append(
                (.kvGroups(layer: layer, chosen), "layer \(layer): \(chosen.count) of \(scores.count) KV groups"))
        }
        return removals
    }

    /// Per channel of the unit axis the tensor is pruned along (rows of q/k/v/gate/up, columns of
    /// o/down), the slice's value; q/k rows in Hugging Face order within each head (the order the
    /// members are aligned in; GGUF interleaves each head's rotary pairs).
    private func channelValues(
        _ tensor: Tensor, _ part: LlamaTensorNames.Layer, _ gradient: WeightGradient?, _ config: LlamaConfig
    ) -> [Double] {
        let rows = tensor.rows, columns = tensor.columns
        let w = tensor.storage.buffer, g = gradient?.gradient.buffer, f = gradient?.fisher?.buffer
        let byColumn = part == .attentionOutput || part == .down
        var sums = [Double](repeating: 0, count: byColumn ? columns : rows)
        for r in 0..<rows {
            for c in 0..<columns {
                let i = r * columns + c
                let s: Double =
                    switch importance {
                    case .paramFirst, .vectorize: Double(w[i] * g![i])
                    case .paramSecond: Double(w[i] * f![i] * w[i])
                    case .paramMix: Double(w[i] * g![i] - 0.5 * w[i] * f![i] * w[i])
                    case .l1: Double(w[i])
                    case .l2: Double(w[i] * w[i])
                    case .random: preconditionFailure("llm-pruner: random importance scores units, not slices")
                    }
                sums[byColumn ? c : r] += importance == .vectorize ? s : abs(s)
            }
        }
        if importance == .vectorize { sums = sums.map(abs) }
        guard part == .query || part == .key else { return sums }
        let headDim = config.headDim, half = headDim / 2
        var huggingFace = sums
        for (row, value) in sums.enumerated() {
            let head = row / headDim, within = row % headDim
            huggingFace[head * headDim + (within % 2) * half + within / 2] = value
        }
        return huggingFace
    }

    /// Each KV group's score: per key channel, the members (k, v, and q and o folded over the
    /// group's own query heads) reduced by `grouping`, summed over the head's channels.
    private func kvGroupScores(
        _ members: [String: [Double]], _ layer: Int, _ config: LlamaConfig
    ) throws(PruneError) -> [Double] {
        let shape = config.layers[layer], headDim = config.headDim, groupSize = shape.groupSize
        func member(_ part: LlamaTensorNames.Layer) throws(PruneError) -> [Double] {
            guard let values = members[part.name(layer: layer)] else {
                throw PruneError("llm-pruner: no gradient for \(part.name(layer: layer))")
            }
            return values
        }
        let q = try member(.query), k = try member(.key), v = try member(.value), o = try member(.attentionOutput)
        return (0..<shape.kvHeadCount).map { group in
            (0..<headDim).reduce(0.0) { total, d in
                let channel = group * headDim + d
                let heads = (group * groupSize)..<((group + 1) * groupSize)
                let folded = { (values: [Double]) in heads.reduce(0.0) { $0 + values[$1 * headDim + d] } }
                return total + reduce([k[channel], v[channel], folded(q), folded(o)])
            }
        }
    }

    /// The members' values of one channel combined by `grouping`.
    private func reduce(_ values: [Double]) -> Double {
        switch grouping {
        case .sum: values.reduce(0, +)
        case .mean: values.reduce(0, +) / Double(values.count)
        case .max: values.max()!
        case .prod: values.reduce(1, *)
        }
    }

    /// The indices of the `count` lowest scores, ascending (ties by index).
    static func lowest(_ scores: [Double], _ count: Int) -> [Int] {
        scores.indices.sorted { (scores[$0], $0) < (scores[$1], $1) }.prefix(count).sorted()
    }

    /// The indices of the `count` lowest scores of each run of `groupSize` (a KV group's query
    /// heads), ascending (ties by index).
    static func lowest(_ scores: [Double], _ count: Int, perGroupOf groupSize: Int) -> [Int] {
        stride(from: 0, to: scores.count, by: groupSize).flatMap { first in
            lowest(Array(scores[first..<first + groupSize]), count).map { first + $0 }
        }
    }
}
