import Inference
import Kernels
import ModelIO
import PruningEngine

/// Model step: FLAP (An et al. 2024, `lib/prune.py` and `lib/layerwrapper.py` of the reference):
/// fluctuation statistics of the attention output's and the down projection's inputs over the
/// dense stream, a per-unit score, the units below a threshold removed, and their mean
/// contribution put back as a bias of `attn_output` and `ffn_down` (bias compensation).
///
/// Statistics per input channel j, one window at a time as the reference's `BiasGPT.add_batch`
/// keeps them: the running mean of the windows' means; the fluctuation
/// `F ← F·(n−1)/n + Σ_t (x_tj − mean_j)²/(n+1)` with the mean already updated (the reference's
/// `old_baseline_inp` aliases the updated tensor), the first window adding none; the running mean
/// of `Σ_t x_tj²` (WIFN). Scores: IFV = F, WIFV = F·‖W_{:,j}‖², WIFN = mean_i |W_ij|·√E[x_j²];
/// the attention score is squared again (in the reference's code, not its paper). A query head's
/// score sums (UL-UM) or, standardised per layer, averages (AL-AM) its channels; a KV group's is
/// the mean of its query heads' (the GQA adaptation), and KV groups are what attention removes.
///
/// Structures: `UL-UM` removes in every layer the units below the `Int(ratio·count)`-th lowest
/// score (kept: `score ≥ threshold`), at the layer's own ratio when one is given per layer; `AL-AM` ranks every layer's standardised KV-group and channel
/// scores together, a KV group costing `(2·groupSize + 2)·headDim/3` channels (the reference's
/// 512/3 for MHA heads of 128), and keeps what scores above the score where the cumulative cost
/// comes closest to `(1 − ratio)` of the total. Bias: `b += W_{:,S}·x̄_S` over the removed inputs
/// S, the mean rounded to half precision first as the reference stores it.
/// `roundTo` (Shears' addition) then rounds each layer's kept FFN width to the nearest multiple,
/// removing the layer's lowest-scoring channels; KV groups are whole heads and are not rounded.
public struct FLAP: ModelStep {
    /// The per-channel fluctuation metric (the reference's `--metrics`).
    public enum Metric: String, CaseIterable, Sendable {
        case ifv = "IFV"
        case wifv = "WIFV"
        case wifn = "WIFN"
    }

    /// How the units to remove are chosen (the reference's `--structure`).
    public enum Structure: String, CaseIterable, Sendable {
        /// Uniform per layer: `ratio` of each layer's KV groups and FFN channels.
        case uniform = "UL-UM"
        /// Adaptive: one threshold over every layer's standardised scores, weighted by cost.
        case adaptive = "AL-AM"
    }

    /// How much to remove: FLAP's ratio (per layer for UL-UM, of the attention + FFN cost for
    /// AL-AM) or a fraction of the model's parameters.
    public let budget: StructuredBudget
    /// The metric.
    public let metric: Metric
    /// The structure.
    public let structure: Structure
    /// Whether the removed units' mean contribution is added back as a bias.
    public let bias: Bool
    /// Each layer's kept FFN width is rounded to a multiple of this (1: FLAP's own counts).
    public var roundTo: Int { rounding.multiple }
    /// The rounding of kept FFN widths.
    let rounding: WidthRounding

    /// "flap".
    public var name: String { "flap" }

    /// - Throws: `PruneError` for a ratio or parameter fraction outside [0, 1), or `roundTo < 1`.
    public init(
        budget: StructuredBudget, metric: Metric = .wifv, structure: Structure = .adaptive, bias: Bool = true,
        roundTo: Int = 1
    ) throws(PruneError) {
        try budget.check(step: "flap")
        self.rounding = try WidthRounding(roundTo, step: "flap")
        guard !(structure == .adaptive && budget.isPerLayer) else {
            throw PruneError(
                "flap: AL-AM sets one threshold for the model; per-layer ratios need structure = \"UL-UM\"")
        }
        self.budget = budget
        self.metric = metric
        self.structure = structure
        self.bias = bias
    }

    /// FLAP with its own `ratio`.
    ///
    /// - Throws: `PruneError` for a ratio outside [0, 1).
    public init(
        ratio: Double, metric: Metric = .wifv, structure: Structure = .adaptive, bias: Bool = true
    )
        throws(PruneError)
    {
        try self.init(budget: .ratio(ratio), metric: metric, structure: structure, bias: bias)
    }

    /// Gathers the statistics over the dense stream, scores, checks and removes.
    public func run(model work: ModelWork) throws(PruneError) {
        let model = work.model, config = model.config
        var statistics: [StatisticsKey: ChannelStatistics] = [:]
        for layer in 0..<config.layerCount {
            let shape = config.layers[layer]
            if shape.hasAttention {
                statistics[StatisticsKey(layer, .attentionContext)] = ChannelStatistics(width: config.queryWidth(layer))
            }
            if shape.hasFFN { statistics[StatisticsKey(layer, .ffnHidden)] = ChannelStatistics(width: shape.ffnSize) }
        }
        try work.denseStream { layer, _, site, values in
            statistics[StatisticsKey(layer, site)]?.add(values)
        }
        var attention: [Int: [Double]] = [:], ffn: [Int: [Double]] = [:]
        for (key, channel) in statistics {
            let part: LlamaTensorNames.Layer = key.site == .attentionContext ? .attentionOutput : .down
            let weights = model.tensor(part.name(layer: key.layer))!
            let scores = channel.scores(metric, weights)
            if key.site == .attentionContext {
                attention[key.layer] = scores.map { $0 * $0 }
            } else {
                ffn[key.layer] = scores
            }
        }
        /// The units removed at each layer's ratio (AL-AM takes one ratio for every layer).
        func plan(_ ratioOf: (Int) -> Double) -> Plan {
            rounded(
                structure == .uniform
                    ? uniformPlan(attention, ffn, config, ratioOf: ratioOf)
                    : adaptivePlan(attention, ffn, config, ratio: ratioOf(0)), ffn)
        }
        let ratioOf = try budget.layerRatio(for: work, step: name) { ratio in
            Self.removals(plan { _ in ratio }, config)
        }
        let chosen = plan(ratioOf)
        for layer in 0..<config.layerCount {
            let (groups, channels) = (chosen.groups[layer] ?? [], chosen.channels[layer] ?? [])
            let shape = config.layers[layer]
            if !groups.isEmpty {
                try compensate(
                    work, .attentionOutput, layer, statistics[StatisticsKey(layer, .attentionContext)]!,
                    inputs: groups.flatMap { group in
                        Array(
                            (group * shape.groupSize * config.headDim)..<((group + 1) * shape.groupSize * config.headDim)
                        )
                    }, removesAll: groups.count == shape.kvHeadCount)
                try work.remove(
                    groups.count == shape.kvHeadCount ? .attention(layer: layer) : .kvGroups(layer: layer, groups),
                    note: "layer \(layer): \(groups.count) of \(shape.kvHeadCount) KV groups")
            }
            if !channels.isEmpty {
                try compensate(
                    work, .down, layer, statistics[StatisticsKey(layer, .ffnHidden)]!, inputs: channels,
                    removesAll: channels.count == shape.ffnSize)
                try work.remove(
                    channels.count == shape.ffnSize ? .ffn(layer: layer) : .ffnChannels(layer: layer, channels),
                    note: "layer \(layer): \(channels.count) of \(shape.ffnSize) FFN channels")
            }
        }
    }

    /// The KV groups and FFN channels to remove, per layer.
    struct Plan {
        var groups: [Int: [Int]] = [:]
        var channels: [Int: [Int]] = [:]
    }

    /// The removals `plan` makes (a sub-block losing every unit goes whole).
    private static func removals(_ plan: Plan, _ config: LlamaConfig) -> [StructuralRemoval] {
        plan.groups.map { layer, groups in
            groups.count == config.layers[layer].kvHeadCount
                ? .attention(layer: layer) : .kvGroups(layer: layer, groups)
        }
            + plan.channels.map { layer, channels in
                channels.count == config.layers[layer].ffnSize
                    ? .ffn(layer: layer) : .ffnChannels(layer: layer, channels)
            }
    }

    /// `plan` with each layer's kept FFN width rounded by `rounding`, the layer's lowest-scoring
    /// channels removed (standardising keeps a layer's order, so AL-AM's choice is the same).
    private func rounded(_ plan: Plan, _ ffn: [Int: [Double]]) -> Plan {
        guard rounding.multiple > 1 else { return plan }
        var result = plan
        for (layer, scores) in ffn {
            let count = rounding.removed(plan.channels[layer]?.count ?? 0, of: scores.count)
            result.channels[layer] = count > 0 ? LLMPruner.lowest(scores, count) : nil
        }
        return result
    }

    /// UL-UM: per layer, the units scoring below the `Int(ratio·count)`-th lowest score, at the
    /// layer's ratio.
    private func uniformPlan(
        _ attention: [Int: [Double]], _ ffn: [Int: [Double]], _ config: LlamaConfig, ratioOf: (Int) -> Double
    ) -> Plan {
        var plan = Plan()
        for (layer, channels) in attention.sorted(by: { $0.key < $1.key }) {
            let shape = config.layers[layer], ratio = ratioOf(layer)
            let heads = Self.sums(channels, width: config.headDim)
            let groups = Self.groupMeans(heads, groupSize: shape.groupSize)
            plan.groups[layer] = Self.below(groups, threshold: groups.sorted()[Int(ratio * Double(groups.count))])
        }
        for (layer, scores) in ffn {
            let ratio = ratioOf(layer)
            plan.channels[layer] = Self.below(scores, threshold: scores.sorted()[Int(Double(scores.count) * ratio)])
        }
        return plan
    }

    /// AL-AM: every layer's standardised scores ranked together with their costs.
    private func adaptivePlan(
        _ attention: [Int: [Double]], _ ffn: [Int: [Double]], _ config: LlamaConfig, ratio: Double
    ) -> Plan {
        var units: [(score: Double, cost: Double, layer: Int, index: Int, isGroup: Bool)] = []
        for (layer, channels) in attention.sorted(by: { $0.key < $1.key }) {
            let shape = config.layers[layer]
            let heads = Self.sums(Self.standardised(channels), width: config.headDim).map {
                $0 / Double(config.headDim)
            }
            let cost = Double((2 * shape.groupSize + 2) * config.headDim) / 3
            for (group, score) in Self.groupMeans(heads, groupSize: shape.groupSize).enumerated() {
                units.append((score, cost, layer, group, true))
            }
        }
        for (layer, scores) in ffn.sorted(by: { $0.key < $1.key }) {
            for (channel, score) in Self.standardised(scores).enumerated() {
                units.append((score, 1, layer, channel, false))
            }
        }
        var plan = Plan()
        guard !units.isEmpty else { return plan }
        let order = units.indices.sorted { units[$0].score > units[$1].score }
        let total = units.reduce(0.0) { $0 + $1.cost }, target = total * (1 - ratio)
        var cumulative = 0.0, best = 0, bestDistance = Double.infinity
        for (rank, index) in order.enumerated() {
            cumulative += units[index].cost
            if abs(cumulative - target) < bestDistance {
                bestDistance = abs(cumulative - target)
                best = rank
            }
        }
        let threshold = units[order[best]].score
        for unit in units where !(unit.score > threshold) {
            if unit.isGroup {
                plan.groups[unit.layer, default: []].append(unit.index)
            } else {
                plan.channels[unit.layer, default: []].append(unit.index)
            }
        }
        for layer in plan.groups.keys { plan.groups[layer]!.sort() }
        for layer in plan.channels.keys { plan.channels[layer]!.sort() }
        return plan
    }

    /// Adds `W_{:,S}·x̄_S` to the bias of `part` before the inputs S are removed (when `bias`);
    /// a sub-block removed whole keeps no bias, which the report says.
    private func compensate(
        _ work: ModelWork, _ part: LlamaTensorNames.Layer, _ layer: Int, _ channel: ChannelStatistics,
        inputs: [Int], removesAll: Bool
    ) throws(PruneError) {
        guard bias else { return }
        if removesAll {
            work.note("layer \(layer): \(part.rawValue) removed whole; its mean contribution is not compensated")
            return
        }
        // The reference keeps the means in fp16 (its model's dtype on the GPU).
        let weights = work.model.tensor(part.name(layer: layer))!
        try WidthCompensator.addMeanContribution(
            work, part, layer: layer, weights: UnsafeBufferPointer(weights.storage.buffer), width: weights.columns,
            removed: inputs, mean: channel.mean.map { Double(Float(Float16($0))) })
    }

    /// The indices whose score is below `threshold`.
    private static func below(_ scores: [Double], threshold: Double) -> [Int] {
        scores.indices.filter { scores[$0] < threshold }
    }

    /// Sums of consecutive runs of `width` values.
    private static func sums(_ values: [Double], width: Int) -> [Double] {
        stride(from: 0, to: values.count, by: width).map { values[$0..<($0 + width)].reduce(0, +) }
    }

    /// Means of consecutive runs of `groupSize` values.
    private static func groupMeans(_ values: [Double], groupSize: Int) -> [Double] {
        sums(values, width: groupSize).map { $0 / Double(groupSize) }
    }

    /// `(v − mean)/std` with the unbiased standard deviation, as `torch.std`.
    private static func standardised(_ values: [Double]) -> [Double] {
        let mean = values.reduce(0, +) / Double(values.count)
        let variance = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(values.count - 1)
        return values.map { ($0 - mean) / variance.squareRoot() }
    }
}

/// Which layer's which linear input a `ChannelStatistics` follows.
private struct StatisticsKey: Hashable {
    let layer: Int
    let site: LinearInputSite
    init(_ layer: Int, _ site: LinearInputSite) {
        self.layer = layer
        self.site = site
    }
}

/// FLAP's per-channel statistics of one linear input, window by window.
private struct ChannelStatistics {
    /// Running mean of the windows' means.
    var mean: [Double]
    /// The fluctuation (see `FLAP`).
    var fluctuation: [Double]
    /// Running mean of the windows' `Σ_t x²`.
    var squares: [Double]
    /// Windows seen.
    var windows = 0

    init(width: Int) {
        mean = Array(repeating: 0, count: width)
        fluctuation = Array(repeating: 0, count: width)
        squares = Array(repeating: 0, count: width)
    }

    /// Adds one window's `rows × width` values (column sums and squares by the SIMD kernel, the
    /// deviations from the updated mean as `Σx² − 2·mean·Σx + rows·mean²`, in Double).
    mutating func add(_ values: UnsafeBufferPointer<Float>) {
        let width = mean.count, rows = values.count / width, n = Double(windows)
        var sums = [Float](repeating: 0, count: width), sumsOfSquares = [Float](repeating: 0, count: width)
        shears_prune_column_moments(values.baseAddress!, rows, width, width, &sums, &sumsOfSquares)
        for j in 0..<width {
            let sum = Double(sums[j]), squared = Double(sumsOfSquares[j])
            mean[j] = mean[j] * n / (n + 1) + sum / Double(rows) / (n + 1)
            squares[j] = squares[j] * n / (n + 1) + squared / (n + 1)
            if windows > 0 {
                let deviations = max(0, squared - 2 * mean[j] * sum + Double(rows) * mean[j] * mean[j])
                fluctuation[j] = fluctuation[j] * (n - 1) / n + deviations / (n + 1)
            }
        }
        windows += 1
    }

    /// The metric's score per channel for the reading matrix `weights` (`[out, width]`).
    func scores(_ metric: FLAP.Metric, _ weights: Tensor) -> [Double] {
        let rows = weights.rows, columns = weights.columns, w = weights.storage.buffer
        switch metric {
        case .ifv:
            return fluctuation
        case .wifv:
            var norms = [Double](repeating: 0, count: columns)
            for r in 0..<rows { for j in 0..<columns { norms[j] += Double(w[r * columns + j] * w[r * columns + j]) } }
            return (0..<columns).map { fluctuation[$0] * norms[$0] }
        case .wifn:
            var sums = [Double](repeating: 0, count: columns)
            for r in 0..<rows { for j in 0..<columns { sums[j] += Double(abs(w[r * columns + j])) } }
            return (0..<columns).map { sums[$0] / Double(rows) * squares[$0].squareRoot() }
        }
    }
}
