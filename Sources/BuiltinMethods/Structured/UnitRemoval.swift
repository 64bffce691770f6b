import Inference
import Kernels
import ModelIO
import PruningEngine

/// Model step: one kind of unit — query heads, KV groups or FFN channels — removed in every chosen
/// layer, `Int(ratio · n)` of them at the layer's ratio (one for all, one per layer, or the common
/// ratio a `params` budget finds; kept FFN widths optionally rounded), the lowest by one criterion (`shears.heads{}`,
/// `shears.kv_groups{}`, `shears.channels{}`). Query heads go in equal numbers from every KV group
/// (llama.cpp splits a layer's query heads evenly over its KV heads), ranked within their group.
///
/// Criteria, each summed over exactly the slices the unit removes:
/// - `magnitude`: the L1 (`norm = 1`) or L2 norm of all the unit's weights (q/k/v/gate/up rows,
///   o/down columns);
/// - `wanda_sp` (FLAP's Wanda-sp baseline): per input channel j of `attn_output`/`ffn_down`,
///   `mean_i |W_ij|·√E[x_j²]` over the dense stream, summed over the unit's channels;
/// - `minitron` (Minitron's activation importance): per channel `√Σ_windows (mean_t |x_tj|)²`
///   (mean over the sequence, L2 over the batch), a head's or group's the L2 over its channels;
/// - `taylor` (Michel et al.'s head importance, LLM-Pruner's vector-wise term): `Σ_windows |∂L_w/∂g|`
///   for a gate g on the unit at g = 1, from the reverse pass (no weight gradient stored).
public struct UnitRemoval: ModelStep {
    /// Which units.
    public enum Unit: String, Sendable {
        case queryHeads = "heads"
        case kvGroups = "kv_groups"
        case channels
    }

    /// How units are scored.
    public enum Criterion: String, CaseIterable, Sendable {
        case magnitude
        case wandaSP = "wanda_sp"
        case minitron, taylor
    }

    /// The units removed.
    public let unit: Unit
    /// The score.
    public let criterion: Criterion
    /// How much: the fraction of each chosen layer's units (of each KV group's query heads)
    /// removed, one for all or one per layer, or a fraction of the model's parameters.
    public let budget: StructuredBudget
    /// The layers (nil: all).
    public let layers: [Int]?
    /// 1 or 2: the norm of `magnitude`.
    public let norm: Int
    /// Kept FFN widths are rounded to a multiple of this (channels only; 1: no rounding).
    public var roundTo: Int { rounding.multiple }
    /// The rounding of kept FFN widths.
    let rounding: WidthRounding

    /// "heads-CRITERION", "kv_groups-CRITERION" or "channels-CRITERION".
    public var name: String { "\(unit.rawValue)-\(criterion.rawValue)" }

    /// One ratio for every chosen layer.
    ///
    /// - Throws: as `init(unit:criterion:budget:layers:norm:roundTo:)`.
    public init(
        unit: Unit, criterion: Criterion, ratio: Double, layers: [Int]? = nil, norm: Int = 2, roundTo: Int = 1
    ) throws(PruneError) {
        try self.init(
            unit: unit, criterion: criterion, budget: .ratio(ratio), layers: layers, norm: norm, roundTo: roundTo)
    }

    /// - Throws: `PruneError` for a ratio or fraction outside [0, 1), a norm other than 1 or 2, or
    ///   `roundTo` below 1 (or above 1 for heads and KV groups, whose widths are whole heads already).
    public init(
        unit: Unit, criterion: Criterion, budget: StructuredBudget, layers: [Int]? = nil, norm: Int = 2,
        roundTo: Int = 1
    )
        throws(PruneError)
    {
        try budget.check(step: unit.rawValue)
        self.rounding = try WidthRounding(roundTo, step: unit.rawValue)
        guard unit == .channels || roundTo == 1 else {
            throw PruneError(
                "\(unit.rawValue): round_to applies to FFN channels only (a head is already head_dim rows); leave it out"
            )
        }
        guard norm == 1 || norm == 2 else { throw PruneError("\(unit.rawValue): norm must be 1 or 2, got \(norm)") }
        self.unit = unit
        self.criterion = criterion
        self.budget = budget
        self.layers = layers
        self.norm = norm
    }

    /// Scores, checks every removal, then removes.
    public func run(model work: ModelWork) throws(PruneError) {
        let config = work.model.config
        let chosen = try config.checkedLayers(layers, step: unit.rawValue)
        for layer in chosen {
            let shape = config.layers[layer]
            guard unit == .channels ? shape.hasFFN : shape.hasAttention else {
                throw PruneError(
                    "\(unit.rawValue): layer \(layer) has no \(unit == .channels ? "FFN" : "attention"); leave it out of layers"
                )
            }
        }
        let scores = try channelScores(work, chosen)
        func plan(_ ratioOf: (Int) -> Double) -> [(StructuralRemoval, String)] {
            chosen.compactMap { layer in removal(layer, ratio: ratioOf(layer), scores[layer]!, config) }
        }
        try budget.apply(to: work, step: unit.rawValue, layerPlan: plan)
    }

    /// The removal in `layer` at `ratio` with its note (nil: nothing to remove).
    private func removal(
        _ layer: Int, ratio: Double, _ values: [Double], _ config: LlamaConfig
    ) -> (StructuralRemoval, String)? {
        let shape = config.layers[layer], headDim = config.headDim
        let removal: StructuralRemoval, note: String
        switch unit {
        case .channels:
            let count = rounding.removed(Int(ratio * Double(shape.ffnSize)), of: shape.ffnSize)
            guard count > 0 else { return nil }
            removal = .ffnChannels(layer: layer, LLMPruner.lowest(values, count))
            note = "\(count) of \(shape.ffnSize) FFN channels"
        case .kvGroups:
            let count = Int(ratio * Double(shape.kvHeadCount))
            guard count > 0 else { return nil }
            removal = .kvGroups(layer: layer, LLMPruner.lowest(perUnit(values, shape.groupSize * headDim), count))
            note = "\(count) of \(shape.kvHeadCount) KV groups"
        case .queryHeads:
            let count = Int(ratio * Double(shape.groupSize))
            guard count > 0 else { return nil }
            let heads = perUnit(values, headDim)
            let removed = (0..<shape.kvHeadCount).flatMap { group in
                let members = Array(heads[(group * shape.groupSize)..<((group + 1) * shape.groupSize)])
                return LLMPruner.lowest(members, count).map { group * shape.groupSize + $0 }
            }
            removal = .queryHeads(layer: layer, removed)
            note = "\(removed.count) of \(shape.headCount) query heads (\(count) per KV group)"
        }
        return (removal, "layer \(layer): " + note)
    }

    /// One score per run of `width` channels: their sum, or their L2 for minitron.
    private func perUnit(_ channels: [Double], _ width: Int) -> [Double] {
        stride(from: 0, to: channels.count, by: width).map { start in
            let run = channels[start..<(start + width)]
            return criterion == .minitron ? run.reduce(0) { $0 + $1 * $1 }.squareRoot() : run.reduce(0, +)
        }
    }

    /// Per chosen layer, one score per input channel of the unit's reading matrix (`attn_output`
    /// for heads and groups, `ffn_down` for channels), combined per unit by `perUnit`.
    private func channelScores(_ work: ModelWork, _ layers: [Int]) throws(PruneError) -> [Int: [Double]] {
        let model = work.model, config = model.config
        let site: LinearInputSite = unit == .channels ? .ffnHidden : .attentionContext
        switch criterion {
        case .magnitude:
            return Dictionary(uniqueKeysWithValues: layers.map { ($0, magnitudes(model, $0)) })
        case .minitron:
            var importances: [Int: MinitronImportance] = [:]
            let wanted = Set(layers)
            try work.denseStream { layer, _, seen, values in
                guard seen == site, wanted.contains(layer) else { return }
                let width = site == .ffnHidden ? config.layers[layer].ffnSize : config.queryWidth(layer)
                importances[layer, default: MinitronImportance(width: width)].add(values)
            }
            return Dictionary(uniqueKeysWithValues: layers.map { ($0, importances[$0]!.scores) })
        case .wandaSP:
            var sums: [Int: [Double]] = [:], counts: [Int: Int] = [:]
            let wanted = Set(layers)
            try work.denseStream { layer, _, seen, values in
                guard seen == site, wanted.contains(layer) else { return }
                let width = site == .ffnHidden ? config.layers[layer].ffnSize : config.queryWidth(layer)
                let rows = values.count / width
                var accumulated = sums[layer] ?? Array(repeating: 0, count: width)
                var columns = [Float](repeating: 0, count: width)
                shears_prune_column_moments(values.baseAddress!, rows, width, width, nil, &columns)
                for j in 0..<width { accumulated[j] += Double(columns[j]) }
                sums[layer] = accumulated
                counts[layer, default: 0] += 1
            }
            var result: [Int: [Double]] = [:]
            for layer in layers {
                let statistic = sums[layer]!, windows = Double(counts[layer]!)
                let part: LlamaTensorNames.Layer = unit == .channels ? .down : .attentionOutput
                let weights = model.tensor(part.name(layer: layer))!, w = weights.storage.buffer
                result[layer] = (0..<weights.columns).map { j in
                    var absolute = 0.0
                    for row in 0..<weights.rows { absolute += Double(abs(w[row * weights.columns + j])) }
                    return absolute / Double(weights.rows) * (statistic[j] / windows).squareRoot()
                }
            }
            return result
        case .taylor:
            let gateUnit: GateUnit = unit == .channels ? .channels : unit == .kvGroups ? .kvGroups : .heads
            let perWindow = try work.gateGradients(units: [gateUnit], layers: layers)
            var result: [Int: [Double]] = [:]
            for layer in layers {
                let shape = config.layers[layer]
                let width =
                    unit == .channels ? 1 : unit == .kvGroups ? shape.groupSize * config.headDim : config.headDim
                var values: [Double] = []
                for gates in perWindow {
                    let layerGates = gates.layers[layer]
                    let window =
                        switch unit {
                        case .channels: layerGates.channels
                        case .kvGroups: layerGates.kvGroups
                        case .queryHeads: layerGates.heads
                        }
                    if values.isEmpty { values = Array(repeating: 0, count: window.count) }
                    for (index, value) in window.enumerated() { values[index] += abs(value) }
                }
                // One score per unit, spread evenly over its channels (summed back by `perUnit`).
                result[layer] = values.flatMap { Array(repeating: $0 / Double(width), count: width) }
            }
            return result
        }
    }

    /// Per channel of the unit axis, `Σ|w|` or `Σw²` over the unit's slices in every matrix it
    /// removes from (for heads: q rows and o columns; groups add k and v rows per channel of their
    /// heads; FFN channels: gate and up rows, the down column); the L2 takes the root per unit.
    private func magnitudes(_ model: Model, _ layer: Int) -> [Double] {
        let config = model.config, shape = config.layers[layer], headDim = config.headDim
        func power(_ value: Float) -> Double { norm == 1 ? Double(abs(value)) : Double(value * value) }
        func rows(_ part: LlamaTensorNames.Layer) -> [Double] {
            let tensor = model.tensor(part.name(layer: layer))!, w = tensor.storage.buffer
            return (0..<tensor.rows).map { r in
                (0..<tensor.columns).reduce(0.0) { $0 + power(w[r * tensor.columns + $1]) }
            }
        }
        func columns(_ part: LlamaTensorNames.Layer) -> [Double] {
            let tensor = model.tensor(part.name(layer: layer))!, w = tensor.storage.buffer
            var sums = [Double](repeating: 0, count: tensor.columns)
            for r in 0..<tensor.rows { for c in 0..<tensor.columns { sums[c] += power(w[r * tensor.columns + c]) } }
            return sums
        }
        var values: [Double]
        switch unit {
        case .channels:
            let gate = rows(.gate), up = rows(.up), down = columns(.down)
            values = (0..<shape.ffnSize).map { gate[$0] + up[$0] + down[$0] }
        case .queryHeads, .kvGroups:
            let q = rows(.query), o = columns(.attentionOutput)
            values = (0..<(shape.headCount * headDim)).map { q[$0] + o[$0] }
            if unit == .kvGroups {
                // A group's k and v rows, spread over its query heads' channels.
                let k = rows(.key), v = rows(.value)
                for channel in values.indices {
                    let group = channel / headDim / shape.groupSize
                    let kv = (0..<headDim).reduce(0.0) { $0 + k[group * headDim + $1] + v[group * headDim + $1] }
                    values[channel] += kv / Double(shape.groupSize * headDim)
                }
            }
        }
        // Summed per unit by `perUnit`: Σw² ranks units as their L2 norms do.
        return values
    }
}
