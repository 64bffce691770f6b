import ModelIO
import PruningEngine

/// How much a structured step removes: its method's own `ratio` (with the reference's meaning and
/// rounding), the same for every layer or one per layer, or a fraction of the model's parameters
/// (`params`), for which the step finds the common ratio whose removals come closest.
public enum StructuredBudget: Sendable, Equatable {
    /// The method's own ratio.
    case ratio(Double)
    /// A fraction of all the model's parameters (embeddings included) to remove.
    case parameters(Double)
    /// The method's own ratio, one per decoder layer (index = layer).
    case layerRatios([Double])

    /// The budget from a descriptor's `ratio` (a number or one per layer) and `params` arguments
    /// (exactly one given).
    ///
    /// - Throws: `PruneError` when neither or both are given.
    static func from(_ arguments: MethodArguments, step: String) throws(PruneError) -> StructuredBudget {
        let ratio = arguments.number("ratio").map(Self.ratio) ?? arguments.numbers("ratio").map(Self.layerRatios)
        switch (ratio, arguments.number("params")) {
        case (let ratio?, nil): return ratio
        case (nil, let parameters?): return .parameters(parameters)
        case (nil, nil): throw PruneError("\(step): give ratio = R or params = P")
        case (_?, _?): throw PruneError("\(step): give ratio or params, not both")
        }
    }

    /// Whether the ratio differs by layer.
    var isPerLayer: Bool { if case .layerRatios = self { true } else { false } }

    /// The per-layer ratios for a model of `layerCount` layers (nil: one ratio or a parameter budget).
    ///
    /// - Throws: `PruneError` naming `step` when the list's length is not `layerCount`.
    func layerRatios(layerCount: Int, step: String) throws(PruneError) -> [Double]? {
        guard case .layerRatios(let ratios) = self else { return nil }
        guard ratios.count == layerCount else {
            throw PruneError(
                "\(step): ratio gives \(ratios.count) values; the model has \(layerCount) layers (give one per layer)")
        }
        return ratios
    }

    /// Plans with `plan` (the removals, each with its note, for a ratio per layer) and applies
    /// the removals to `work`: one ratio for all layers, the list's ratio per layer, or the common
    /// ratio a parameter budget finds (noted).
    ///
    /// - Throws: `PruneError` for a list of the wrong length, from `plan`, the search or the surgery.
    func apply(
        to work: ModelWork, step: String,
        layerPlan plan: ((Int) -> Double) throws(PruneError) -> [(StructuralRemoval, String)]
    ) throws(PruneError) {
        let ratioOf = try layerRatio(for: work, step: step) { ratio throws(PruneError) in
            try plan { _ in ratio }.map(\.0)
        }
        for (removal, note) in try plan(ratioOf) { try work.remove(removal, note: note) }
    }

    /// Each layer's ratio: the one ratio, the list's ratio per layer, or the common ratio a
    /// parameter budget finds with `plan` (the removals at one ratio for every layer; noted on `work`).
    ///
    /// - Throws: `PruneError` for a list of the wrong length, from `plan` or the search.
    func layerRatio(
        for work: ModelWork, step: String,
        plan: (Double) throws(PruneError) -> [StructuralRemoval]
    ) throws(PruneError) -> (Int) -> Double {
        let model = work.model
        switch self {
        case .ratio(let ratio): return { _ in ratio }
        case .layerRatios:
            let ratios = try layerRatios(layerCount: model.config.layerCount, step: step)!
            return { ratios[$0] }
        case .parameters(let fraction):
            let found = try Self.ratio(
                removing: fraction, of: model.parameterCount, model.config, step: step, plan: plan)
            work.note(
                "params \(fraction): ratio \(found.ratio) removes \(found.removed) of \(model.parameterCount) parameters"
            )
            return { _ in found.ratio }
        }
    }

    /// Plans the removals of this budget with `plan` (a ratio's removals, each with its note) and
    /// applies them to `work`: a parameter budget first finds the ratio whose removals come
    /// closest and notes it. For steps whose ratio is one for all layers.
    ///
    /// - Throws: `PruneError` from `plan`, the search or the surgery; for per-layer ratios.
    func apply(
        to work: ModelWork, step: String,
        plan: (Double) throws(PruneError) -> [(StructuralRemoval, String)]
    ) throws(PruneError) {
        guard !isPerLayer else { throw PruneError("\(step): takes one ratio for every layer, not one per layer") }
        try apply(to: work, step: step) { ratioOf throws(PruneError) in try plan(ratioOf(0)) }
    }

    /// Checks that the ratio (every layer's) or the fraction lies in [0, 1).
    ///
    /// - Throws: `PruneError` naming `step` and the value otherwise.
    func check(step: String) throws(PruneError) {
        switch self {
        case .ratio(let ratio) where !(0..<1).contains(ratio):
            throw PruneError("\(step): ratio must be in [0, 1), got \(ratio)")
        case .layerRatios(let ratios):
            if let layer = ratios.indices.first(where: { !(0..<1).contains(ratios[$0]) }) {
                throw PruneError("\(step): the ratio of layer \(layer) must be in [0, 1), got \(ratios[layer])")
            }
        case .parameters(let fraction) where !(0..<1).contains(fraction):
            throw PruneError("\(step): params must be in [0, 1), got \(fraction)")
        default: break
        }
    }

    /// The parameters `removals` take out of a model of `config` (weights only), counted
    /// exactly when they overlap (FFN channels and hidden channels both remove parts of `ffn_down`).
    static func removedParameters(_ removals: [StructuralRemoval], _ config: LlamaConfig) -> Int {
        var after = config
        for removal in removals {
            switch removal {
            case .blocks(let blocks):
                after.layers = after.layers.enumerated().filter { !blocks.contains($0.offset) }.map(\.element)
            case .queryHeads(let layer, let heads):
                after.layers[layer].headCount -= heads.count
                if after.layers[layer].headCount == 0 { after.layers[layer].kvHeadCount = 0 }
            case .kvGroups(let layer, let groups):
                after.layers[layer].headCount -= groups.count * config.layers[layer].groupSize
                after.layers[layer].kvHeadCount -= groups.count
            case .attention(let layer):
                after.layers[layer] = LayerShape(
                    headCount: 0, kvHeadCount: 0, ffnSize: after.layers[layer].ffnSize)
            case .ffnChannels(let layer, let channels): after.layers[layer].ffnSize -= channels.count
            case .ffn(let layer): after.layers[layer].ffnSize = 0
            case .hiddenChannels(let channels): after.hiddenSize -= channels.count
            }
        }
        return weightCount(config) - weightCount(after)
    }

    /// The weights (biases aside) a model of `config` holds.
    static func weightCount(_ config: LlamaConfig) -> Int {
        LlamaTensorNames.expected(config).reduce(0) { $0 + $1.shape.reduce(1, *) }
    }

    /// The ratio in [0, 1) whose `plan` removes the number of parameters closest to `fraction` of
    /// `total` (a plan that throws counts as too much), found by bisection; with the plan.
    ///
    /// - Throws: `PruneError` when no ratio removes anything near the target.
    static func ratio(
        removing fraction: Double, of total: Int, _ config: LlamaConfig, step: String,
        plan: (Double) throws(PruneError) -> [StructuralRemoval]
    ) throws(PruneError) -> (ratio: Double, removed: Int) {
        let target = fraction * Double(total)
        func removed(_ ratio: Double) -> Int? {
            do { return removedParameters(try plan(ratio), config) } catch { return nil }
        }
        var low = 0.0, high = 1.0
        for _ in 0..<48 {
            let middle = (low + high) / 2
            if let count = removed(middle), Double(count) < target { low = middle } else { high = middle }
        }
        let candidates = [low, high.nextDown].compactMap { ratio in removed(ratio).map { (ratio, $0) } }
        guard let best = candidates.min(by: { abs(Double($0.1) - target) < abs(Double($1.1) - target) }),
            best.1 > 0 || fraction == 0
        else {
            throw PruneError("\(step): no ratio removes \(fraction) of the parameters; the most it can is less")
        }
        return best
    }
}

/// Kept widths rounded to a multiple of a step (`round_to`): llama.cpp's matrix kernels tile rows
/// by 32–128, and a width off the tiles (FLAP's FFN 1229) runs slower than dense.
struct WidthRounding: Sendable, Equatable {
    /// The multiple (1: no rounding).
    let multiple: Int

    /// - Throws: `PruneError` naming `step` when `multiple < 1`.
    init(_ multiple: Int, step: String) throws(PruneError) {
        guard multiple >= 1 else { throw PruneError("\(step): round_to must be at least 1, got \(multiple)") }
        self.multiple = multiple
    }

    /// `kept` of `width` units rounded to the nearest multiple (halves up), never above `width`
    /// nor below one multiple; unchanged when `width` is below one multiple.
    func kept(_ kept: Int, of width: Int) -> Int {
        guard multiple > 1, width >= multiple else { return kept }
        return min(width, max(multiple, (kept + multiple / 2) / multiple * multiple))
    }

    /// How many of `width` units to remove when `count` were chosen, after rounding what is kept.
    func removed(_ count: Int, of width: Int) -> Int { width - kept(width - count, of: width) }
}

extension LlamaConfig {
    /// `layers` sorted without repeats, or every layer when nil.
    ///
    /// - Throws: `PruneError` naming `step` for a layer outside the model.
    func checkedLayers(_ layers: [Int]?, step: String) throws(PruneError) -> [Int] {
        guard let layers else { return Array(0..<layerCount) }
        if let bad = layers.first(where: { !(0..<layerCount).contains($0) }) {
            throw PruneError("\(step): layer \(bad) is outside 0..<\(layerCount)")
        }
        return Array(Set(layers)).sorted()
    }
}
