import Inference
import Kernels
import ModelIO
import PruningEngine

/// Model step: one kind of unit — query heads, KV groups or FFN channels — removed in every chosen
/// layer, `Int(ratio · n)` of them at the layer's ratio (one for all, one per layer, or the common
/// ratio a `params` budget finds; kept FFN widths optionally rounded), the lowest by one criterion (`shears.heads{}`,
/// `shears.kv_groups{}`, `shears.channels{}`). Query heads go in equal numbers from every KV group
/// (llama.cpp splits a layer's query heads evenly over its KV heads), ranked within their group.
/// With `iterative = k` the units go k per round (k per KV group for query heads), every round
/// rescored on the model the previous rounds left; `compensation` then refits or biases the
/// reading matrix (`WidthCompensation`, from the dense stream before the step).
///
/// Criteria, each summed over exactly the slices the unit removes:
/// - `magnitude`: the L1 (`norm = 1`) or L2 norm of all the unit's weights (q/k/v/gate/up rows,
///   o/down columns);
/// - `wanda_sp` (FLAP's Wanda-sp baseline): per input channel j of `attn_output`/`ffn_down`,
///   `mean_i |W_ij|·√E[x_j²]` over the dense stream, summed over the unit's channels;
/// - `minitron` (Minitron's activation importance): per channel `√Σ_windows (mean_t |x_tj|)²`
///   (mean over the sequence, L2 over the batch), a head's or group's the L2 over its channels;
/// - `taylor` (LLM-Pruner's vector-wise term on a unit gate): `Σ_windows |∂L_w/∂g|` for a gate g
///   on the unit at g = 1, from the reverse pass (no weight gradient stored);
/// - `michel` (Michel et al.'s head importance, `calculate_head_importance`): `Σ_t |⟨x_t, ∂L/∂x_t⟩|`
///   over the unit's `attn_output`/`ffn_down` inputs, the absolute value taken per token (query
///   heads and FFN channels);
/// - `ablation` (Michel et al.'s gradient-free variant): `L(unit masked) − L`, the calibration
///   loss with the unit's `attn_output` columns zeroed, one forward pass per unit (query heads
///   and KV groups).
public struct UnitRemoval: ModelStep {
    /// Which units.
    public enum Unit: String, Sendable {
        case queryHeads = "heads"
        case kvGroups = "kv_groups"
        case channels

        /// The inputs of the matrix reading the units (`ffn_down` for channels, `attn_output`
        /// otherwise).
        package var readingSite: LinearInputSite { self == .channels ? .ffnHidden : .attentionContext }

        /// The gate that scales one unit in a reverse pass.
        package var gateUnit: GateUnit {
            switch self {
            case .queryHeads: .heads
            case .kvGroups: .kvGroups
            case .channels: .channels
            }
        }
    }

    /// How units are scored.
    public enum Criterion: String, CaseIterable, Sendable {
        case magnitude
        case wandaSP = "wanda_sp"
        case minitron, taylor, michel, ablation
    }

    /// The units removed.
    public let unit: Unit
    /// The score (nil when `scorer` scores the units).
    public let criterion: Criterion?
    /// Scores the units instead of a built-in criterion (a plugin's unit criterion).
    public let scorer: (any UnitScorer)?
    /// How much: the fraction of each chosen layer's units (of each KV group's query heads)
    /// removed, one for all or one per layer, or a fraction of the model's parameters.
    public let budget: StructuredBudget
    /// The layers (nil: all).
    public let layers: [Int]?
    /// 1 or 2: the norm of `magnitude`.
    public let norm: Int
    /// Units removed per round and layer (per KV group for query heads), rescored between rounds
    /// (nil: all at once).
    public let iterative: Int?
    /// What replaces the removed units' contribution.
    public let compensation: WidthCompensation
    /// Kept FFN widths are rounded to a multiple of this (channels only; 1: no rounding).
    public var roundTo: Int { rounding.multiple }
    /// The rounding of kept FFN widths.
    let rounding: WidthRounding

    /// "heads-CRITERION", "kv_groups-CRITERION" or "channels-CRITERION" (the scorer's name for
    /// CRITERION with a scorer).
    public var name: String { "\(unit.rawValue)-\(criterion?.rawValue ?? scorer!.name)" }

    /// One ratio for every chosen layer.
    ///
    /// - Throws: as `init(unit:criterion:budget:layers:norm:roundTo:iterative:compensation:)`.
    public init(
        unit: Unit, criterion: Criterion, ratio: Double, layers: [Int]? = nil, norm: Int = 2, roundTo: Int = 1,
        iterative: Int? = nil, compensation: WidthCompensation = .none
    ) throws(PruneError) {
        try self.init(
            unit: unit, criterion: criterion, budget: .ratio(ratio), layers: layers, norm: norm, roundTo: roundTo,
            iterative: iterative, compensation: compensation)
    }

    /// - Throws: `PruneError` for a ratio or fraction outside [0, 1), a norm other than 1 or 2,
    ///   `roundTo` below 1 (or above 1 for heads and KV groups, whose widths are whole heads
    ///   already), `iterative` below 1, `michel` on KV groups or `ablation` on FFN channels.
    public init(
        unit: Unit, criterion: Criterion, budget: StructuredBudget, layers: [Int]? = nil, norm: Int = 2,
        roundTo: Int = 1, iterative: Int? = nil, compensation: WidthCompensation = .none
    )
        throws(PruneError)
    {
        if criterion == .michel, unit == .kvGroups {
            throw PruneError(
                "kv_groups: criterion michel scores query heads (or FFN channels); use it with shears.heads{}, or score KV groups by taylor or ablation"
            )
        }
        if criterion == .ablation, unit == .channels {
            throw PruneError(
                "channels: criterion ablation needs one forward pass per unit, too many for FFN channels; use michel, taylor or minitron"
            )
        }
        try self.init(
            unit: unit, criterion: criterion, scorer: nil, budget: budget, layers: layers, norm: norm,
            roundTo: roundTo, iterative: iterative, compensation: compensation)
    }

    /// Units scored by `scorer`, otherwise as the built-in criteria.
    ///
    /// - Throws: `PruneError` for a ratio outside [0, 1) or `iterative` below 1.
    public init(
        unit: Unit, scorer: any UnitScorer, ratio: Double, layers: [Int]? = nil, iterative: Int? = nil,
        compensation: WidthCompensation = .none
    ) throws(PruneError) {
        try self.init(
            unit: unit, criterion: nil, scorer: scorer, budget: .ratio(ratio), layers: layers, norm: 2, roundTo: 1,
            iterative: iterative, compensation: compensation)
    }

    private init(
        unit: Unit, criterion: Criterion?, scorer: (any UnitScorer)?, budget: StructuredBudget, layers: [Int]?,
        norm: Int, roundTo: Int, iterative: Int?, compensation: WidthCompensation
    ) throws(PruneError) {
        try budget.check(step: unit.rawValue)
        self.rounding = try WidthRounding(roundTo, step: unit.rawValue)
        guard unit == .channels || roundTo == 1 else {
            throw PruneError(
                "\(unit.rawValue): round_to applies to FFN channels only (a head is already head_dim rows); leave it out"
            )
        }
        guard norm == 1 || norm == 2 else { throw PruneError("\(unit.rawValue): norm must be 1 or 2, got \(norm)") }
        if let iterative, iterative < 1 {
            throw PruneError("\(unit.rawValue): iterative must be at least 1 unit per round, got \(iterative)")
        }
        self.unit = unit
        self.criterion = criterion
        self.scorer = scorer
        self.budget = budget
        self.layers = layers
        self.norm = norm
        self.iterative = iterative
        self.compensation = compensation
    }

    /// Scores, checks every removal, then removes, round by round; then compensates.
    public func run(model work: ModelWork) throws(PruneError) {
        let config = work.model.config, headDim = config.headDim
        let chosen = try config.checkedLayers(layers, step: unit.rawValue)
        for layer in chosen {
            let shape = config.layers[layer]
            guard unit == .channels ? shape.hasFFN : shape.hasAttention else {
                throw PruneError(
                    "\(unit.rawValue): layer \(layer) has no \(unit == .channels ? "FFN" : "attention"); leave it out of layers"
                )
            }
        }
        // The first scores rank the units and, for a parameter budget, find the common ratio.
        let firstScores = try channelScores(work, chosen)
        func plan(_ ratio: Double) -> [StructuralRemoval] {
            chosen.compactMap { layer -> StructuralRemoval? in
                let count = removedCount(layer, ratio: ratio, config)
                return count > 0 ? removal(layer, count, firstScores[layer]!, config).removal.0 : nil
            }
        }
        let ratioOf = try budget.layerRatio(for: work, step: unit.rawValue, plan: plan)
        // Per layer: the units to remove (per KV group for query heads) and the original units kept.
        var targets: [Int: Int] = [:], kept: [Int: [Int]] = [:]
        for layer in chosen {
            let shape = config.layers[layer]
            targets[layer] = removedCount(layer, ratio: ratioOf(layer), config)
            kept[layer] = Array(
                0..<(unit == .channels ? shape.ffnSize : unit == .kvGroups ? shape.kvHeadCount : shape.headCount))
        }
        let originalShapes = config.layers
        let compensator = try WidthCompensator(
            work, compensation, part: unit == .channels ? .down : .attentionOutput,
            layers: chosen.filter { targets[$0]! > 0 })
        var done: [Int: Int] = [:]
        while true {
            let active = chosen.filter { done[$0, default: 0] < targets[$0]! }
            guard !active.isEmpty else { break }
            let scores = done.isEmpty ? firstScores : try channelScores(work, active)
            var removals: [(StructuralRemoval, String)] = []
            for layer in active {
                let count = min(iterative ?? .max, targets[layer]! - done[layer, default: 0])
                done[layer, default: 0] += count
                let planned = removal(layer, count, scores[layer]!, work.model.config)
                let gone = Set(planned.units)
                kept[layer] = kept[layer]!.indices.filter { !gone.contains($0) }.map { kept[layer]![$0] }
                removals.append(planned.removal)
            }
            for (removal, note) in removals { try work.remove(removal, note: note) }
            guard iterative != nil else { break }
        }
        for layer in chosen where targets[layer]! > 0 {
            let shape = originalShapes[layer]
            let width =
                switch unit {
                case .channels: 1
                case .kvGroups: shape.groupSize * headDim
                case .queryHeads: headDim
                }
            let inputs = kept[layer]!.flatMap { Array(($0 * width)..<(($0 + 1) * width)) }
            try compensator.apply(work, layer: layer, kept: inputs, step: unit.rawValue)
        }
    }

    /// The units `layer` loses at `ratio`: FFN channels (rounded), KV groups, or query heads per KV group.
    private func removedCount(_ layer: Int, ratio: Double, _ config: LlamaConfig) -> Int {
        let shape = config.layers[layer]
        return switch unit {
        case .channels: rounding.removed(Int(ratio * Double(shape.ffnSize)), of: shape.ffnSize)
        case .kvGroups: Int(ratio * Double(shape.kvHeadCount))
        case .queryHeads: Int(ratio * Double(shape.groupSize))
        }
    }

    /// The `count` lowest-scoring units of `layer` (per KV group for query heads): the removal
    /// with its note, and the removed units' indices in the layer's current numbering.
    private func removal(
        _ layer: Int, _ count: Int, _ values: [Double], _ config: LlamaConfig
    ) -> (removal: (StructuralRemoval, String), units: [Int]) {
        let shape = config.layers[layer], headDim = config.headDim
        let removal: StructuralRemoval, removed: [Int], note: String
        switch unit {
        case .channels:
            removed = LLMPruner.lowest(values, count)
            removal = .ffnChannels(layer: layer, removed)
            note = "\(count) of \(shape.ffnSize) FFN channels"
        case .kvGroups:
            removed = LLMPruner.lowest(perUnit(values, shape.groupSize * headDim), count)
            removal = .kvGroups(layer: layer, removed)
            note = "\(count) of \(shape.kvHeadCount) KV groups"
        case .queryHeads:
            removed = LLMPruner.lowest(perUnit(values, headDim), count, perGroupOf: shape.groupSize)
            removal = .queryHeads(layer: layer, removed)
            note = "\(removed.count) of \(shape.headCount) query heads (\(count) per KV group)"
        }
        return ((removal, "layer \(layer): " + note), removed)
    }

    /// One score per run of `width` channels: their sum, or their L2 for minitron.
    private func perUnit(_ channels: [Double], _ width: Int) -> [Double] {
        stride(from: 0, to: channels.count, by: width).map { start in
            let run = channels[start..<(start + width)]
            return criterion == .minitron ? run.reduce(0) { $0 + $1 * $1 }.squareRoot() : run.reduce(0, +)
        }
    }

    /// Per chosen layer, the squared norm of each input channel of the unit's reading matrix
    /// (`attn_output` for heads and groups, `ffn_down` for channels) over a window's tokens, averaged
    /// over the windows of the dense stream: Wanda-sp's statistic, and what unit plugins read.
    package static func meanSquaredInputs(
        _ work: ModelWork, unit: Unit, layers: [Int]
    ) throws(PruneError) -> [Int: [Double]] {
        let config = work.model.config
        let site = unit.readingSite
        var sums: [Int: [Double]] = [:], counts: [Int: Int] = [:]
        let wanted = Set(layers)
        try work.denseStream { layer, _, seen, values in
            guard seen == site, wanted.contains(layer) else { return }
            let width = site == .ffnHidden ? config.layers[layer].ffnSize : config.queryWidth(layer)
            var accumulated = sums[layer] ?? Array(repeating: 0, count: width)
            var columns = [Float](repeating: 0, count: width)
            shears_prune_column_moments(values.baseAddress!, values.count / width, width, width, nil, &columns)
            for j in 0..<width { accumulated[j] += Double(columns[j]) }
            sums[layer] = accumulated
            counts[layer, default: 0] += 1
        }
        return Dictionary(
            uniqueKeysWithValues: sums.map { layer, sum in
                let windows = Double(counts[layer]!)
                return (layer, sum.map { $0 / windows })
            })
    }

    /// Per chosen layer, one score per input channel of the unit's reading matrix (`attn_output`
    /// for heads and groups, `ffn_down` for channels), combined per unit by `perUnit`.
    private func channelScores(_ work: ModelWork, _ layers: [Int]) throws(PruneError) -> [Int: [Double]] {
        let model = work.model, config = model.config
        let site = unit.readingSite
        guard let criterion else {
            let scores = try scorer!.scores(work, unit: unit, layers: layers)
            return Dictionary(
                uniqueKeysWithValues: layers.map { layer in
                    (layer, spread(scores[layer] ?? [], config.layers[layer], headDim: config.headDim))
                })
        }
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
            let squares = try Self.meanSquaredInputs(work, unit: unit, layers: layers)
            var result: [Int: [Double]] = [:]
            for layer in layers {
                let statistic = squares[layer]!
                let part: LlamaTensorNames.Layer = unit == .channels ? .down : .attentionOutput
                let weights = model.tensor(part.name(layer: layer))!, w = weights.storage.buffer
                result[layer] = (0..<weights.columns).map { j in
                    var absolute = 0.0
                    for row in 0..<weights.rows { absolute += Double(abs(w[row * weights.columns + j])) }
                    return absolute / Double(weights.rows) * statistic[j].squareRoot()
                }
            }
            return result
        case .taylor:
            let perWindow = try work.gateGradients(units: [unit.gateUnit], layers: layers)
            var result: [Int: [Double]] = [:]
            for layer in layers {
                var values: [Double] = []
                for gates in perWindow {
                    let window = unitGates(gates.layers[layer])
                    if values.isEmpty { values = Array(repeating: 0, count: window.count) }
                    for (index, value) in window.enumerated() { values[index] += abs(value) }
                }
                result[layer] = spread(values, config.layers[layer], headDim: config.headDim)
            }
            return result
        case .michel:
            let importance = try work.tokenGateImportance(
                units: [unit == .channels ? .channels : .heads], layers: layers)
            return Dictionary(
                uniqueKeysWithValues: layers.map { layer in
                    (layer, spread(unitGates(importance.layers[layer]), config.layers[layer], headDim: config.headDim))
                })
        case .ablation:
            let base = try work.meanNegativeLogLikelihood()
            var result: [Int: [Double]] = [:]
            for layer in layers {
                let shape = config.layers[layer]
                let width = unit == .kvGroups ? shape.groupSize * config.headDim : config.headDim
                let output = model.tensor(LlamaTensorNames.Layer.attentionOutput.name(layer: layer))!
                let w = output.storage.buffer, columns = output.columns
                var values: [Double] = []
                for start in stride(from: 0, to: columns, by: width) {
                    // The unit masked: its attn_output columns zeroed for one pass, then restored.
                    var saved: [Float] = []
                    for row in 0..<output.rows {
                        for j in start..<(start + width) {
                            saved.append(w[row * columns + j])
                            w[row * columns + j] = 0
                        }
                    }
                    let loss = Result(catching: { () throws(PruneError) -> Double in
                        try work.meanNegativeLogLikelihood()
                    })
                    var next = saved.makeIterator()
                    for row in 0..<output.rows {
                        for j in start..<(start + width) { w[row * columns + j] = next.next()! }
                    }
                    values.append(try loss.get() - base)
                }
                result[layer] = spread(values, shape, headDim: config.headDim)
            }
            return result
        }
    }

    /// The gates of this step's unit kind in one layer's gate gradients.
    private func unitGates(_ gates: LayerGateGradients) -> [Double] {
        switch unit {
        case .channels: gates.channels
        case .kvGroups: gates.kvGroups
        case .queryHeads: gates.heads
        }
    }

    /// One score per unit spread evenly over its channels (summed back by `perUnit`).
    private func spread(_ values: [Double], _ shape: LayerShape, headDim: Int) -> [Double] {
        let width = unit == .channels ? 1 : unit == .kvGroups ? shape.groupSize * headDim : headDim
        return values.flatMap { Array(repeating: $0 / Double(width), count: width) }
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

/// Scores units for `UnitRemoval` in place of a built-in criterion (a plugin's unit criterion).
public protocol UnitScorer: Sendable {
    /// The name the step reports ("PLUGIN/CRITERION").
    var name: String { get }
    /// Per layer of `layers`, one score per `unit` of the model as `work` holds it now (lower:
    /// removed first).
    ///
    /// - Throws: `PruneError` when scoring fails.
    func scores(_ work: ModelWork, unit: UnitRemoval.Unit, layers: [Int]) throws(PruneError) -> [Int: [Double]]
}
