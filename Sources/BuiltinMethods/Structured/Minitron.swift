import ModelIO
import PruningEngine

/// Model step: Minitron's width pruning (Muralidharan et al. 2024; ModelOpt's `mcore_minitron.py`
/// and `nas/plugins/megatron.py`): activation importance from one pass over the dense stream, then
/// a homogeneous cut — every layer keeps the same FFN width, the residual stream the same hidden
/// channels everywhere — each layer ranking its own FFN channels (the "Minitron approach" keeps
/// the heads; `shears.heads{ criterion = "minitron" }` prunes them).
///
/// Scores (`MinitronImportance`: mean over the sequence, L2 over the windows): an FFN channel's is
/// that of its `ffn_down` input; a hidden channel's is the sum over every `attn_norm` and
/// `ffn_norm` output (norm weight included) of that hook's score. Hidden channel c is the
/// embedding column, every norm entry, the q/k/v/gate/up columns and o/down rows (with their bias
/// entries) and the output column (`StructuralRemoval.hiddenChannels`). Norms are sliced as the
/// reference does, without rescaling γ (the RMS over fewer channels shifts the scale; Minitron
/// retrains after pruning).
///
/// Widths kept: `n − Int(ratio·n)`, rounded to the nearest multiple of `roundTo` (ModelOpt's
/// divisors are 64 for hidden and FFN), never above n nor below `roundTo`.
public struct Minitron: ModelStep {
    /// How much to remove: the fraction of the FFN width and of the hidden width, or a fraction
    /// of the model's parameters (the common ratio coming closest).
    public let budget: StructuredBudget
    /// Whether FFN channels are pruned.
    public let ffn: Bool
    /// Whether hidden channels are pruned.
    public let hidden: Bool
    /// Kept widths are rounded to a multiple of this (1: no rounding).
    public var roundTo: Int { rounding.multiple }
    /// The rounding of kept widths.
    let rounding: WidthRounding

    /// "minitron", or "hidden-minitron" when only hidden channels are pruned.
    public var name: String { ffn ? "minitron" : "hidden-minitron" }

    /// - Throws: `PruneError` for a ratio or fraction outside [0, 1), no unit kind, or `roundTo < 1`.
    public init(budget: StructuredBudget, ffn: Bool = true, hidden: Bool = true, roundTo: Int = 1) throws(PruneError) {
        let step = ffn ? "minitron" : "hidden"
        try budget.check(step: step)
        guard ffn || hidden else { throw PruneError("\(step): prune FFN channels, hidden channels or both") }
        guard !budget.isPerLayer else {
            throw PruneError(
                "\(step): every layer keeps the same width; for per-layer ratios use shears.channels{ criterion = \"minitron\" }"
            )
        }
        self.rounding = try WidthRounding(roundTo, step: step)
        self.budget = budget
        self.ffn = ffn
        self.hidden = hidden
    }

    /// Refuses a model whose output projection's tie disagrees with its configuration (hidden
    /// channels would be cut from the embedding and not the output, or the reverse).
    public func validate(chain: [any PruneStep], model: Model) throws(PruneError) {
        guard hidden else { return }
        do { try model.checkHiddenAxis() } catch {
            throw PruneError("\(ffn ? "minitron" : "hidden"): \(error.item.map { "\($0): " } ?? "")\(error.message)")
        }
    }

    /// The width kept of `width` units at `ratio`, rounded to a multiple of `roundTo`.
    func kept(_ width: Int, ratio: Double) -> Int {
        rounding.kept(width - Int(ratio * Double(width)), of: width)
    }

    /// Scores from one dense pass, then removes the lowest FFN channels of every layer and the
    /// lowest hidden channels.
    public func run(model work: ModelWork) throws(PruneError) {
        let model = work.model, config = model.config
        var ffnScores: [Int: MinitronImportance] = [:], hooks: [String: MinitronImportance] = [:]
        try work.denseStream { layer, _, site, values in
            switch site {
            case .ffnHidden where ffn:
                ffnScores[layer, default: MinitronImportance(width: config.layers[layer].ffnSize)].add(values)
            case .attentionInput where hidden, .ffnInput where hidden:
                hooks["\(layer).\(site)", default: MinitronImportance(width: config.hiddenSize)].add(values)
            default: break
            }
        }
        var hiddenScores = [Double](repeating: 0, count: config.hiddenSize)
        for hook in hooks.values {
            for (channel, score) in hook.scores.enumerated() { hiddenScores[channel] += score }
        }
        let channelScores = ffnScores.mapValues(\.scores)
        func plan(_ ratio: Double) throws(PruneError) -> [(StructuralRemoval, String)] {
            var removals: [(StructuralRemoval, String)] = []
            for (layer, scores) in channelScores.sorted(by: { $0.key < $1.key }) {
                let count = scores.count - kept(scores.count, ratio: ratio)
                guard count > 0 else { continue }
                guard count < scores.count else {
                    throw PruneError("\(name): ratio \(ratio) removes every FFN channel of layer \(layer); lower it")
                }
                removals.append(
                    (
                        .ffnChannels(layer: layer, LLMPruner.lowest(scores, count)),
                        "layer \(layer): \(count) of \(scores.count) FFN channels"
                    ))
            }
            if hidden {
                let count = config.hiddenSize - kept(config.hiddenSize, ratio: ratio)
                if count > 0 {
                    removals.append(
                        (
                            .hiddenChannels(LLMPruner.lowest(hiddenScores, count)),
                            "\(count) of \(config.hiddenSize) hidden channels"
                        ))
                }
            }
            return removals
        }
        try budget.apply(to: work, step: name, plan: plan)
    }
}
