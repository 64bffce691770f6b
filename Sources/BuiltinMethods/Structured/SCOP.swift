import Foundation
import Inference
import ModelIO
import PruningEngine

/// Model step: SCOP for LLMs (Tang et al. 2020, "Scientific Control for Reliable Neural Network
/// Pruning"; `methods-structured.md` §1). Every selection unit — a query head (its attended
/// context), a KV group (its query heads' contexts) or an FFN channel (its `ffn_down` input) — is
/// set against a knockoff, a feature with the same statistics that carries no information of its
/// own (the control group); units the model is content to replace by their knockoffs go first.
///
/// Estimators:
/// - `gradient` (the paper's): gates `x̂ = β·x + (1 − β)·x̃` trained on the real stream's
///   next-token loss, weights frozen (`SCOPGradientEstimate`); importance `I = β − (1 − β)`,
///   times the unit's output scale when `scale` (the magnitude factor replacing the CNN's
///   |γ_BN|: `‖W_{:,j}‖·√E[x_j²]` for a channel, `√Σ_j ‖W_{:,j}‖²·E[x_j²]` over a head's or group's
///   `attn_output` columns);
/// - `local` (§1.5 A): the convex program `min uᵀAu`, `A = (WᵀW) ∘ E[δδᵀ]`, per layer
///   (`SCOPLocalEstimate`);
/// - `regression` (§1.5 C): random knockoff swap sets, each unit's expected loss increase when
///   handed to its knockoff fitted by ridge regression (`SCOPRegressionEstimate`).
///
/// Selection is SCOP's uniform per-layer rate (`Int(ratio·n)` of each layer's FFN channels, the kept
/// width rounded with `roundTo`, or KV groups, `Int(ratio·groupSize)` query heads of each KV group; one ratio per layer, or the common
/// ratio a parameter budget finds), then optional compensation of the reading matrix
/// (`WidthCompensation`, from the dense stream before the removal).
public struct SCOP: ModelStep {
    /// Where the knockoff features come from (paired with the real tokens by position; position
    /// 0 is never mixed).
    public enum Knockoffs: String, CaseIterable, Sendable {
        /// K1: sequences sampled from the unpruned model at temperature 1, through the unmixed
        /// model (the closest analogue of the reference's generator).
        case model
        /// K2: the second half of the calibration windows, through the unmixed model (the
        /// reference code's unpaired samples).
        case unpaired
        /// K3: redundancy-aware Gaussian knockoffs of the real features at each site
        /// (`GaussianKnockoffs`), fitted to the dense stream past position 0.
        case gaussian
        /// The ablation without a control group: knockoffs replaced by zeros (`x̂ = β·x`).
        case zeros
    }

    /// How the units' importance is estimated.
    public enum Estimate: String, CaseIterable, Sendable {
        /// Adam on the LM loss of the mixed real stream (the paper's training of β).
        case gradient
        /// The closed-form local program on each reading matrix (§1.5 A).
        case local
        /// Ridge regression of the loss increase over random knockoff swap sets (§1.5 C).
        case regression
    }

    /// The most swap sets the `regression` estimator runs by default (4 per unit) before it asks
    /// for `swaps` to be given.
    public static let defaultSwapLimit = 10_000
    /// The ridge of the swap regression, relative to the mean diagonal of ZᵀZ.
    static let swapRidge = 0.01

    /// A kind of selection unit.
    public enum Unit: String, CaseIterable, Sendable {
        /// Query heads (one per head, selected per KV group).
        case heads
        /// KV groups: a KV head and the query heads reading it.
        case kvGroups = "kv_groups"
        /// FFN channels.
        case channels

        /// The site the unit's features are mixed at.
        var site: LinearInputSite { self == .channels ? .ffnHidden : .attentionContext }
        /// The matrix reading the site.
        var reader: LlamaTensorNames.Layer { self == .channels ? .down : .attentionOutput }

        /// The units of this kind a layer of `shape` has.
        func count(in shape: LayerShape) -> Int {
            switch self {
            case .heads: shape.headCount
            case .kvGroups: shape.kvHeadCount
            case .channels: shape.ffnSize
            }
        }

        /// The reader's columns per unit.
        func width(_ shape: LayerShape, headDim: Int) -> Int {
            switch self {
            case .heads: headDim
            case .kvGroups: shape.groupSize * headDim
            case .channels: 1
            }
        }
    }

    /// How much to remove: SCOP's per-layer rate (one, or one per layer) or a fraction of the
    /// model's parameters.
    public let budget: StructuredBudget
    /// The kinds of unit mixed and pruned (heads and KV groups not together).
    public let units: Set<Unit>
    /// The knockoff source.
    public let knockoffs: Knockoffs
    /// The estimator.
    public let estimate: Estimate
    /// Adam steps (gradient).
    public let steps: Int
    /// Windows per step (gradient), or the windows every swap set is measured on (regression).
    public let batch: Int
    /// Swap sets (regression; nil: 4 per unit).
    public let swaps: Int?
    /// The probability that a swap set hands a unit to its knockoff (regression).
    public let swapProbability: Double
    /// Adam's learning rate (gradient).
    public let learningRate: Double
    /// Whether the importance 2β − 1 is multiplied by the unit's output scale (gradient).
    public let scale: Bool
    /// What replaces the removed units' contribution.
    public let compensation: WidthCompensation
    /// Kept FFN widths are rounded to a multiple of this (1: no rounding).
    public var roundTo: Int { rounding.multiple }
    /// The rounding of kept FFN widths.
    let rounding: WidthRounding
    /// The layers whose units are mixed and pruned (nil: all).
    public let layers: [Int]?
    /// The seed of the Gaussian knockoffs' noise and of the model-sampled knockoff windows.
    public let seed: UInt64

    /// "scop".
    public var name: String { "scop" }

    /// `scale` nil means true for the gradient estimator.
    ///
    /// - Throws: `PruneError` for a budget outside [0, 1), no unit kind or heads with KV groups,
    ///   fewer than one step or window per step, a learning rate that is not positive, `scale`
    ///   with the local or regression estimator (their importance is already in the model's
    ///   terms), fewer than 1 swap set, a swap probability outside (0, 1) or `roundTo` below 1.
    public init(
        budget: StructuredBudget, units: Set<Unit> = [.heads, .channels], knockoffs: Knockoffs = .unpaired,
        estimate: Estimate = .gradient, steps: Int = 300, batch: Int = 8, learningRate: Double = 0.01,
        scale: Bool? = nil, swaps: Int? = nil, swapProbability: Double = 0.1, compensation: WidthCompensation = .none,
        roundTo: Int = 1, layers: [Int]? = nil, seed: UInt64 = 0
    ) throws(PruneError) {
        try budget.check(step: "scop")
        guard !units.isEmpty else { throw PruneError("scop: units must name heads, kv_groups or channels") }
        guard !(units.contains(.heads) && units.contains(.kvGroups)) else {
            throw PruneError("scop: units: heads and kv_groups both select attention; choose one")
        }
        guard steps >= 1 else { throw PruneError("scop: steps must be at least 1, got \(steps)") }
        guard batch >= 1 else { throw PruneError("scop: batch must be at least 1, got \(batch)") }
        guard learningRate > 0, learningRate.isFinite else {
            throw PruneError("scop: lr must be positive, got \(learningRate)")
        }
        if estimate != .gradient, scale == true {
            throw PruneError(
                "scop: scale is the gradient estimator's magnitude factor; the \(estimate.rawValue) estimator's importance is already in the model's terms (leave scale out)"
            )
        }
        if let swaps, swaps < 1 { throw PruneError("scop: swaps must be at least 1, got \(swaps)") }
        guard swapProbability > 0, swapProbability < 1 else {
            throw PruneError("scop: swap_probability must be in (0, 1), got \(swapProbability)")
        }
        self.budget = budget
        self.units = units
        self.knockoffs = knockoffs
        self.estimate = estimate
        self.steps = steps
        self.batch = batch
        self.swaps = swaps
        self.swapProbability = swapProbability
        self.learningRate = learningRate
        self.scale = scale ?? (estimate == .gradient)
        self.compensation = compensation
        self.rounding = try WidthRounding(roundTo, step: "scop")
        self.layers = layers
        self.seed = seed
    }

    /// Estimates, checks every removal, removes, then compensates.
    public func run(model work: ModelWork) throws(PruneError) {
        let config = work.model.config
        let chosen = try config.checkedLayers(layers, step: name)
        let ranking = try rank(work, layers: chosen)
        let ratioOf = try budget.layerRatio(for: work, step: name) { ratio throws(PruneError) in
            // The parameters removed depend on the counts alone.
            var planned: [StructuralRemoval] = []
            for layer in chosen {
                for unit in units {
                    let count = removedCount(unit, layer: layer, ratio: ratio, config)
                    guard count > 0 else { continue }
                    let groupSize = config.layers[layer].groupSize
                    let any =
                        unit == .heads
                        ? (0..<config.layers[layer].kvHeadCount).flatMap { g in (0..<count).map { g * groupSize + $0 } }
                        : Array(0..<count)
                    planned.append(removal(unit, layer: layer, any, config).removal)
                }
            }
            return planned
        }
        var removals: [(removal: StructuralRemoval, note: String)] = [], kept: [Unit: [Int: [Int]]] = [:]
        let clock = ContinuousClock(), selectionStart = clock.now
        for layer in chosen {
            for unit in units.sorted(by: { $0.rawValue < $1.rawValue }) {
                let count = removedCount(unit, layer: layer, ratio: ratioOf(layer), config)
                guard count > 0 else { continue }
                let removed = ranking(layer, unit, count)
                removals.append(removal(unit, layer: layer, removed, config))
                let gone = Set(removed), shape = config.layers[layer]
                kept[unit, default: [:]][layer] = (0..<unit.count(in: shape)).filter { !gone.contains($0) }
            }
        }
        work.note("scop selection: \(Self.seconds(clock.now - selectionStart)) s (the local program is solved here)")
        var compensators: [Unit: WidthCompensator] = [:]
        for (unit, layers) in kept {
            compensators[unit] = try WidthCompensator(
                work, compensation, part: unit.reader, layers: layers.keys.sorted())
        }
        for (removal, note) in removals { try work.remove(removal, note: note) }
        for (unit, layers) in kept {
            for (layer, units) in layers.sorted(by: { $0.key < $1.key }) {
                let width = unit.width(config.layers[layer], headDim: config.headDim)
                try compensators[unit]!.apply(
                    work, layer: layer, kept: units.flatMap { Array(($0 * width)..<(($0 + 1) * width)) }, step: name)
            }
        }
    }

    /// Runs the estimator on `layers` of `work`'s model and returns the ranking: for a layer, a
    /// unit kind and a count, the units to remove (per KV group for query heads), ascending.
    ///
    /// - Throws: `PruneError` for a default swap count over `defaultSwapLimit` (before any work),
    ///   or from the knockoff source, the statistics or the estimator.
    package func rank(_ work: ModelWork, layers: [Int]) throws(PruneError) -> (Int, Unit, Int) -> [Int] {
        let model = work.model, config = model.config
        let swapCount = try swapSets(config, layers: layers)
        // The cost reference: one forward over every calibration window.
        let clock = ContinuousClock()
        let forwardStart = clock.now
        _ = try work.meanNegativeLogLikelihood()
        let forwardTime = clock.now - forwardStart
        // The estimator's cost: knockoff source, statistics, fits and the estimate itself.
        let estimateStart = clock.now
        let sites = Set(units.map(\.site))
        let source = try SCOPKnockoffSource(
            kind: knockoffs, work: work, layers: layers, sites: sites, seed: seed,
            cacheLimit: estimate == .local ? 0 : SCOPKnockoffSource.reuseCache)
        let statistics = try SiteStatistics(
            work, windows: source.real.count, sites: sites, squares: scale,
            moments: knockoffs == .gaussian)
        if knockoffs == .gaussian { try source.fit(statistics.moments, work: work, sampling: estimate != .local) }
        let ranking: (Int, Unit, Int) -> [Int]
        switch estimate {
        case .gradient:
            if let warning = Self.memorisationNote(
                gates: unitCount(config, layers: layers), windows: source.real.prefix(steps * batch))
            {
                work.note(warning)
            }
            let trained = try SCOPGradientEstimate(
                source: source, work: work, layers: layers, units: units, steps: steps, batch: batch,
                learningRate: learningRate)
            var scores: [Int: [Unit: [Double]]] = [:]
            for (layer, gates) in trained.betas {
                for (unit, betas) in gates {
                    let magnitudes = scale ? statistics.outputScale(model, layer: layer, unit: unit) : nil
                    scores[layer, default: [:]][unit] = betas.enumerated().map { i, beta in
                        (2 * beta - 1) * (magnitudes?[i] ?? 1)
                    }
                }
            }
            let all = trained.betas.values.flatMap { $0.values.flatMap { $0 } }
            work.note(
                "scop \(knockoffs.rawValue)/gradient: \(steps) steps of \(batch) windows, loss "
                    + String(format: "%.4f → %.4f", trained.losses.first!, trained.losses.last!) + ", mean β "
                    + String(format: "%.3f", all.reduce(0, +) / Double(max(all.count, 1)))
                    + ", β ≤ 0.25: \(all.filter { $0 <= 0.25 }.count), β ≥ 0.75: \(all.filter { $0 >= 0.75 }.count) of \(all.count) units"
            )
            ranking = Self.lowest(scores, config)
        case .regression:
            let fit = try SCOPRegressionEstimate(
                source: source, work: work, layers: layers, units: units, swaps: swapCount,
                probability: swapProbability, batch: batch, ridge: Self.swapRidge, seed: seed)
            work.note(
                "scop \(knockoffs.rawValue)/regression: \(swapCount) swap sets over \(fit.unitCount) units (p = \(swapProbability)) on \(min(batch, source.real.count)) windows, loss "
                    + String(format: "%.4f, mean increase %.4f, R² %.3f", fit.baseLoss, fit.meanIncrease, fit.explained)
            )
            ranking = Self.lowest(fit.importance, config)
        case .local:
            let local = try SCOPLocalEstimate(source: source, model: model, layers: layers, units: units)
            work.note(
                "scop \(knockoffs.rawValue)/local: A = (WᵀW) ∘ E[δδᵀ] over \(source.real.count) real windows at \(layers.count) layers"
            )
            ranking = { layer, unit, count in
                local.removed(layer: layer, unit: unit, count: count, groupSize: config.layers[layer].groupSize).units
            }
        }
        let estimateTime = clock.now - estimateStart
        work.note(
            "scop \(estimate.rawValue) estimator: \(Self.seconds(estimateTime)) s, "
                + String(format: "%.1f", estimateTime / forwardTime)
                + "× one forward over the \(work.calibration.count) calibration windows (\(Self.seconds(forwardTime)) s)"
        )
        return ranking
    }

    /// The regression estimator's swap sets over `layers` (`swaps`, or 4 per unit); 0 for the
    /// other estimators.
    ///
    /// - Throws: `PruneError` when the default would exceed `defaultSwapLimit` (checked before
    ///   any work).
    private func swapSets(_ config: LlamaConfig, layers: [Int]) throws(PruneError) -> Int {
        guard estimate == .regression else { return 0 }
        if let swaps { return swaps }
        let unitCount = unitCount(config, layers: layers)
        guard 4 * unitCount <= Self.defaultSwapLimit else {
            throw PruneError(
                "scop: the regression estimator would run \(4 * unitCount) swap sets (4 per unit for \(unitCount) units), one forward over up to \(batch) windows each; give swaps = N, fewer units (units = heads or kv_groups) or fewer layers"
            )
        }
        return 4 * unitCount
    }

    /// The units (gates) of `units` in `layers`.
    private func unitCount(_ config: LlamaConfig, layers: [Int]) -> Int {
        layers.reduce(0) { sum, layer in sum + units.reduce(0) { $0 + $1.count(in: config.layers[layer]) } }
    }

    /// The gradient estimator's warning when its gates outnumber the predicted tokens of the
    /// distinct real windows its steps read (`windows`, each window's first token not predicted):
    /// free gates then fit those windows rather than measure the units (docs/methods.md); nil
    /// otherwise.
    private static func memorisationNote(gates: Int, windows: ArraySlice<[Int32]>) -> String? {
        let tokens = windows.reduce(0) { $0 + $1.count - 1 }
        guard gates > tokens, !windows.isEmpty else { return nil }
        let perWindow = max(tokens / windows.count, 1), needed = (gates + perWindow - 1) / perWindow
        return
            "scop gradient: \(gates) gates fitted on \(tokens) predicted tokens of \(windows.count) distinct real windows: with fewer tokens than gates β can memorise the windows instead of measuring the units; give at least \(needed) real windows of this length (--samples; unpaired knockoffs take half of them) and steps × batch that read them all"
    }

    /// The ranking by `scores` (per layer and unit kind): the `count` lowest units (query heads:
    /// per KV group), ascending by index.
    private static func lowest(_ scores: [Int: [Unit: [Double]]], _ config: LlamaConfig) -> (Int, Unit, Int) -> [Int] {
        { layer, unit, count in
            let values = scores[layer]![unit]!
            return unit == .heads
                ? LLMPruner.lowest(values, count, perGroupOf: config.layers[layer].groupSize)
                : LLMPruner.lowest(values, count)
        }
    }

    /// How many units of `unit` `layer` loses at `ratio` (query heads: per KV group); never all
    /// of them, since the ratio is below 1.
    private func removedCount(_ unit: Unit, layer: Int, ratio: Double, _ config: LlamaConfig) -> Int {
        let shape = config.layers[layer]
        switch unit {
        case .heads: return Int(ratio * Double(shape.groupSize))
        case .kvGroups: return Int(ratio * Double(shape.kvHeadCount))
        case .channels: return rounding.removed(Int(ratio * Double(shape.ffnSize)), of: shape.ffnSize)
        }
    }

    /// The removal of the units `removed` of `layer` with its note.
    private func removal(
        _ unit: Unit, layer: Int, _ removed: [Int], _ config: LlamaConfig
    ) -> (
        removal: StructuralRemoval, note: String
    ) {
        let shape = config.layers[layer]
        switch unit {
        case .channels:
            return (
                .ffnChannels(layer: layer, removed), "layer \(layer): \(removed.count) of \(shape.ffnSize) FFN channels"
            )
        case .kvGroups:
            return (
                .kvGroups(layer: layer, removed), "layer \(layer): \(removed.count) of \(shape.kvHeadCount) KV groups"
            )
        case .heads:
            return (
                .queryHeads(layer: layer, removed), "layer \(layer): \(removed.count) of \(shape.headCount) query heads"
            )
        }
    }

    /// `duration` in seconds, rounded to 0.1.
    static func seconds(_ duration: Duration) -> Double {
        let value = Double(duration.components.seconds) + Double(duration.components.attoseconds) * 1e-18
        return (value * 10).rounded() / 10
    }
}

/// What `SCOP` gathers from the dense stream of its real windows past position 0: Σ x_j² per
/// site (the output scale) and, for Gaussian knockoffs, each site's moments.
private struct SiteStatistics {
    /// Σ_t x_tj² per layer and site.
    var squares: [Int: [LinearInputSite: [Double]]] = [:]
    /// The rows summed.
    var rows: [Int: [LinearInputSite: Int]] = [:]
    /// The moments (Gaussian knockoffs only).
    var moments: [Int: [LinearInputSite: FeatureMoments]] = [:]

    /// Streams the first `windows` calibration windows of `work` through the dense model, for
    /// the squares (`squares`) and the moments (`moments`); not at all when neither is wanted.
    ///
    /// - Throws: `PruneError` from the dense stream.
    init(
        _ work: ModelWork, windows: Int, sites: Set<LinearInputSite>, squares wantsSquares: Bool,
        moments wantsMoments: Bool
    ) throws(PruneError) {
        guard wantsSquares || wantsMoments else { return }
        var squares = self.squares, rows = self.rows, moments = self.moments
        try work.denseStream { layer, window, site, values in
            guard window < windows, sites.contains(site) else { return }
            let width = values.count / work.calibration[window].count
            let count = values.count / width - 1
            let past = UnsafeBufferPointer(rebasing: values[width...])
            if wantsSquares {
                var sum = squares[layer]?[site] ?? Array(repeating: 0, count: width)
                for r in 0..<count {
                    for j in 0..<width { sum[j] += Double(past[r * width + j] * past[r * width + j]) }
                }
                squares[layer, default: [:]][site] = sum
                rows[layer, default: [:]][site, default: 0] += count
            }
            if wantsMoments {
                var moment = moments[layer]?[site] ?? FeatureMoments(width: width)
                moment.add(past, rows: count)
                moments[layer, default: [:]][site] = moment
            }
        }
        self.squares = squares
        self.rows = rows
        self.moments = moments
    }

    /// Each unit's output scale: `√Σ_j ‖W_{:,j}‖²·E[x_j²]` over its reader's columns.
    func outputScale(_ model: Model, layer: Int, unit: SCOP.Unit) -> [Double] {
        let tensor = model.tensor(unit.reader.name(layer: layer))!
        let w = tensor.storage.buffer, columns = tensor.columns
        let squares = self.squares[layer]![unit.site]!, n = Double(max(rows[layer]![unit.site]!, 1))
        var norms = [Double](repeating: 0, count: columns)
        for r in 0..<tensor.rows {
            for c in 0..<columns { norms[c] += Double(w[r * columns + c] * w[r * columns + c]) }
        }
        let width = unit.width(model.config.layers[layer], headDim: model.config.headDim)
        return stride(from: 0, to: columns, by: width).map { first in
            (first..<first + width).reduce(0) { $0 + norms[$1] * squares[$1] / n }.squareRoot()
        }
    }
}
