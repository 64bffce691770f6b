import Foundation
import ModelIO
import PruningEngine

/// Model step: depth pruning by the perplexity criterion of Shortened LLaMA (Kim et al. 2024,
/// `anal_block_sensitivity_ppl.py` and `block_prune.py` of the reference): every block is scored
/// by the calibration perplexity of the model without it (the mean NLL over every predicted token
/// of every window), the blocks are ordered by ascending score (least important first, ties in
/// block order as Python's stable sort leaves them), the protected blocks are taken out of that
/// order, and the first `count` are removed at once, without rescoring.
///
/// The reference's "+" heuristic, on by default there for every criterion, protects the first
/// four and the last two blocks (`keepEnds`).
public struct BlockRemoval: ModelStep {
    /// Blocks to remove.
    public let count: Int
    /// Whether the first four and the last two blocks are protected (the reference's default).
    public let keepEnds: Bool

    /// "blocks-ppl".
    public var name: String { "blocks-ppl" }

    /// - Throws: `PruneError` if `count` is not positive.
    public init(count: Int, keepEnds: Bool = true) throws(PruneError) {
        guard count >= 1 else { throw PruneError("blocks: remove must be at least 1, got \(count)") }
        self.count = count
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
        guard count < layers, count <= removable else {
            throw PruneError(
                "blocks: cannot remove \(count) of \(layers) blocks"
                    + (keepEnds ? " with the first four and the last two kept (keep_ends = false allows more)" : "")
                    + "; at least one block must stay")
        }
    }

    /// Scores every block, records the scores, and removes the `count` least important.
    public func run(model work: ModelWork) throws(PruneError) {
        let layers = work.model.config.layerCount
        var scores: [Int: Double] = [:]
        for block in 0..<layers {
            scores[block] = exp(try work.meanNegativeLogLikelihood(skipping: [block]))
        }
        work.record(blockScores: scores)
        let protected = keepEnds ? Self.protectedBlocks(layers: layers) : []
        let order = (0..<layers).sorted { scores[$0]! < scores[$1]! || (scores[$0]! == scores[$1]! && $0 < $1) }
        try work.removeBlocks(Array(order.filter { !protected.contains($0) }.prefix(count)))
    }
}
