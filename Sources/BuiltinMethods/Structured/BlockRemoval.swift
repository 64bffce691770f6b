import Foundation
import ModelIO
import PruningEngine

/// Model step: depth pruning. Every block is scored once on the calibration windows, the blocks
/// are ordered by ascending score (least important first, ties in block order as Python's stable
/// sort leaves them), the protected blocks are taken out of that order, and the first `count` are
/// removed at once, without rescoring (`block_prune.py` of Shortened LLaMA, Kim et al. 2024).
///
/// Criteria:
/// - `ppl` (Shortened LLaMA's `anal_block_sensitivity_ppl.py`; Minitron's LM-loss drop ranks the
///   same): the calibration perplexity of the model without the block (the mean NLL over every
///   predicted token of every window);
/// - `taylor+` (Shortened LLaMA's `anal_block_sensitivity_taylor.py`): with `S = W⊙g`, g the
///   gradient of the mean NLL over all windows, `Σ|S|` over every weight of the block (its seven
///   matrices and two norms; biases, like the reference's, not counted);
/// - `bi` (Minitron's depth score, ShortGPT's Block Influence): `Σ_windows (1 − mean_t cos(x_t, y_t))`
///   with x the block's input and y its output on the dense stream.
///
/// The reference's "+" heuristic, on by default there for every criterion, protects the first
/// four and the last two blocks (`keepEnds`); Minitron protects none (`keep_ends = false`).
public struct BlockRemoval: ModelStep {
    /// How blocks are scored.
    public enum Criterion: String, CaseIterable, Sendable {
        case ppl
        case taylorPlus = "taylor+"
        case bi
    }

    /// Blocks to remove (with `parameters`, the most considered).
    public let count: Int
    /// Instead of a count: the fraction of the model's parameters to remove; the number of the
    /// least important blocks whose parameters come closest is removed.
    public let parameters: Double?
    /// The score.
    public let criterion: Criterion
    /// Whether the first four and the last two blocks are protected (the reference's default).
    public let keepEnds: Bool

    /// "blocks-ppl", "blocks-taylor+" or "blocks-bi".
    public var name: String { "blocks-\(criterion.rawValue)" }

    /// - Throws: `PruneError` if `count` is not positive.
    public init(count: Int, criterion: Criterion = .ppl, keepEnds: Bool = true) throws(PruneError) {
        guard count >= 1 else { throw PruneError("blocks: remove must be at least 1, got \(count)") }
        self.count = count
        self.parameters = nil
        self.criterion = criterion
        self.keepEnds = keepEnds
    }

    /// Removes the number of blocks whose parameters come closest to `fraction` of the model's.
    ///
    /// - Throws: `PruneError` for a fraction outside (0, 1).
    public init(parameters fraction: Double, criterion: Criterion = .ppl, keepEnds: Bool = true) throws(PruneError) {
        guard fraction > 0, fraction < 1 else { throw PruneError("blocks: params must be in (0, 1), got \(fraction)") }
        self.count = 0
        self.parameters = fraction
        self.criterion = criterion
        self.keepEnds = keepEnds
    }

    /// The blocks of an `layers`-block model the "+" heuristic protects.
    public static func protectedBlocks(layers: Int) -> Set<Int> {
        Set([0, 1, 2, 3, layers - 2, layers - 1].filter { $0 >= 0 && $0 < layers })
    }

    /// Refuses a model with too few removable blocks.
    public func validate(chain: [any PruneStep], model: Model) throws(PruneError) {
        let layers = model.config.layerCount
        let removable = layers - (keepEnds ? Self.protectedBlocks(layers: layers).count : 0)
        guard parameters == nil || removable >= 1 else {
            throw PruneError(
                "blocks: the \(layers)-block model has no block to remove with the first four and the last two kept")
        }
        guard parameters != nil || (count < layers && count <= removable) else {
            throw PruneError(
                "blocks: cannot remove \(count) of \(layers) blocks"
                    + (keepEnds ? " with the first four and the last two kept (keep_ends = false allows more)" : "")
                    + "; at least one block must stay")
        }
    }

    /// Scores every block, records the scores, and removes the `count` least important.
    public func run(model work: ModelWork) throws(PruneError) {
        let layers = work.model.config.layerCount
        let scores = try Self.scores(criterion, work)
        work.record(blockScores: scores)
        let protected = keepEnds ? Self.protectedBlocks(layers: layers) : []
        let order = (0..<layers).sorted { scores[$0]! < scores[$1]! || (scores[$0]! == scores[$1]! && $0 < $1) }
        let candidates = order.filter { !protected.contains($0) }
        var chosen = count
        if let fraction = parameters {
            // The prefix of the candidates whose parameters come closest to the target (at least one
            // block; never all of them).
            let config = work.model.config, target = fraction * Double(work.model.parameterCount)
            let limit = min(candidates.count, layers - 1)
            chosen = (1...limit).min { a, b in
                let removedA = StructuredBudget.removedParameters([.blocks(Array(candidates.prefix(a)))], config)
                let removedB = StructuredBudget.removedParameters([.blocks(Array(candidates.prefix(b)))], config)
                return abs(Double(removedA) - target) < abs(Double(removedB) - target)
            }!
            let removed = StructuredBudget.removedParameters([.blocks(Array(candidates.prefix(chosen)))], config)
            work.note(
                "params \(fraction): \(chosen) blocks remove \(removed) of \(work.model.parameterCount) parameters")
        }
        try work.removeBlocks(Array(candidates.prefix(chosen)))
    }

    /// Every block's score by `criterion` (lower: less important).
    static func scores(_ criterion: Criterion, _ work: ModelWork) throws(PruneError) -> [Int: Double] {
        let layers = work.model.config.layerCount
        var scores: [Int: Double] = [:]
        switch criterion {
        case .ppl:
            for block in 0..<layers {
                scores[block] = exp(try work.meanNegativeLogLikelihood(skipping: [block]))
            }
        case .taylorPlus:
            let model = work.model
            for block in 0..<layers { scores[block] = 0 }
            _ = try work.gradients(fisher: false) { name, gradient throws(PruneError) in
                guard let (layer, _, kind) = LlamaTensorNames.parse(name), kind == .weight,
                    let tensor = model.tensor(name)
                else { return }
                let w = tensor.storage.buffer, g = gradient.gradient.buffer
                var sum = 0.0
                for i in 0..<tensor.count { sum += Double(abs(w[i] * g[i])) }
                scores[layer]! += sum
            }
        case .bi:
            let hidden = work.model.config.hiddenSize
            for block in 0..<layers { scores[block] = 0 }
            try work.blockStream { layer, _, input, output in
                let rows = input.count / hidden
                var cosines = 0.0
                for t in 0..<rows {
                    var dot = 0.0, inNorm = 0.0, outNorm = 0.0
                    for c in 0..<hidden {
                        let x = Double(input[t * hidden + c]), y = Double(output[t * hidden + c])
                        dot += x * y
                        inNorm += x * x
                        outNorm += y * y
                    }
                    let denominator = (inNorm * outNorm).squareRoot()
                    cosines += denominator > 0 ? dot / denominator : 0
                }
                scores[layer]! += 1 - cosines / Double(rows)
            }
        }
        return scores
    }
}
