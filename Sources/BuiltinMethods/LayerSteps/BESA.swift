import Foundation
import Inference
import ModelIO
import PruningEngine

/// BESA (Xu et al., ICLR 2024; OpenGVLab/LLMPrune-BESA) as a layer step: a sparsity learned for
/// every output row (or every matrix) of the block's targeted matrices by minimising the block's
/// output reconstruction error under a target-sparsity penalty, one optimiser step per
/// calibration window in order, a fresh optimiser per block. Within a row the weights go in the
/// order of the criterion before it (Wanda's when there is none).
///
/// Per window: hard masks from the expected sparsities (`BESASparsity`), the block run with them
/// (`BlockGradients`, straight-through soft masks), the loss
/// `Σ_{t,c} ((Y_ref − Y)_{t,c}/ν_c)²/hidden + β·((S − p)/p)²` with `Y_ref` the dense block on the
/// window's current input, `ν_c` its per-channel norm over the window's tokens and `S` the
/// parameter-weighted expected sparsity of the block, then one Prodigy (or AdamW) step on the
/// logits. The final hard masks become the matrices' masks; the engine then runs the pruned
/// block to feed the next. The target `p` is the allocator's (parameter-weighted over the block).
public struct BESA: LayerStep {
    /// Which rows share one learned sparsity.
    public enum Granularity: String, Sendable, CaseIterable {
        /// One per output row (the paper's row-wise setting, `--blocksize 1`).
        case row
        /// One per matrix (`--blocksize -1`).
        case layer
    }

    /// The optimiser of the logits.
    public enum Optimizer: String, Sendable, CaseIterable {
        /// Prodigy as the reference implements it (lr 1).
        case prodigy
        /// AdamW (the reference's `--normal-opt`, lr 1e-2).
        case adamw
    }

    /// Passes over the calibration windows.
    public let epochs: Int
    /// The weight β of the sparsity penalty.
    public let beta: Double
    /// Prodigy's `d_coef`.
    public let dCoefficient: Double
    /// Candidate sparsities per row (`D`, 101 in the reference: steps of 0.01).
    public let candidates: Int
    /// Row-wise or layer-wise.
    public let granularity: Granularity
    /// The optimiser.
    public let optimizer: Optimizer
    /// The learning rate (Prodigy: a multiplier of its own step size).
    public let lr: Double
    /// Correct each block's final pruned count to the target exactly (a deviation from BESA,
    /// whose penalty is soft): the rows nearest their count thresholds move by one weight.
    public let exact: Bool

    /// "besa".
    public var name: String { "besa" }
    /// Wanda's statistics, for the default order when no criterion precedes it.
    public var requirement: StatisticsRequirement { .squaredNorms }

    /// - Throws: `PruneError` for epochs < 1, β < 0, `d_coef` or `lr` not positive and finite,
    ///   or fewer than 2 candidates.
    public init(
        epochs: Int = 1, beta: Double = 5, dCoefficient: Double = 5, candidates: Int = 101,
        granularity: Granularity = .row, optimizer: Optimizer = .prodigy, lr: Double? = nil, exact: Bool = false
    ) throws(PruneError) {
        guard epochs >= 1 else { throw PruneError("besa: epochs must be at least 1, got \(epochs)") }
        guard beta >= 0, beta.isFinite else { throw PruneError("besa: beta must be ≥ 0, got \(beta)") }
        guard dCoefficient > 0, dCoefficient.isFinite else {
            throw PruneError("besa: d_coef must be > 0, got \(dCoefficient)")
        }
        guard candidates >= 2 else {
            throw PruneError("besa: candidates must be at least 2 (sparsities 1 and 0), got \(candidates)")
        }
        let lr = lr ?? (optimizer == .prodigy ? 1 : 1e-2)
        guard lr > 0, lr.isFinite else { throw PruneError("besa: lr must be > 0, got \(lr)") }
        self.epochs = epochs
        self.beta = beta
        self.dCoefficient = dCoefficient
        self.candidates = candidates
        self.granularity = granularity
        self.optimizer = optimizer
        self.lr = lr
        self.exact = exact
    }

    /// Refuses N:M selectors and patterns (BESA's per-row counts are not N:M), a uniform target
    /// outside (0, 1), and layer steps before it (a structured layer step shrinks matrices and
    /// drops their scores and statistics).
    public func validate(chain: [any PruneStep], model: Model) throws(PruneError) {
        for step in chain {
            let nm: SparsityPattern? =
                switch step {
                case let selector as GroupSelector: selector.pattern
                case let selector as PermutedGroupSelector: selector.pattern
                case let owl as OWLAllocator where owl.pattern != .unstructured: owl.pattern
                default: nil
                }
            if let nm {
                throw PruneError(
                    "besa learns a pruned count per row, which no N:M pattern (\(nm), from \(step.name)) allows; "
                        + "use unstructured sparsity with besa, or an N:M method without it")
            }
            if let uniform = step as? UniformSparsity, !(uniform.sparsity > 0 && uniform.sparsity < 1) {
                throw PruneError("besa: the target sparsity must be in (0, 1), got \(uniform.sparsity)")
            }
        }
        let position = chain.firstIndex { $0 is BESA }
        if let position, let shrinker = chain[..<position].first(where: { $0 is any LayerStep }) {
            throw PruneError(
                "besa cannot follow the layer step \(shrinker.name): it may shrink the block's matrices, dropping "
                    + "their scores; run the structured step in a prune of its own first, then besa on its output")
        }
    }

    /// Learns the block's sparsities and sets every targeted matrix's mask.
    public func run(layer work: LayerWork) throws(PruneError) {
        let matrices = work.matrices
        guard work.windowCount > 0 else {
            throw PruneError("besa: layer \(work.layer) has no calibration windows to learn from")
        }
        for matrix in matrices {
            if matrix.scores.isEmpty {
                guard matrix.statistics != nil else {
                    throw PruneError(
                        "besa: \(matrix.name) has no scores and no statistics (was it shrunk by a structured "
                            + "step?); prune structure in a prune of its own, then run besa on its output")
                }
                try WandaScore().run(matrix)
            }
            try matrix.requireScores(for: name)
            if let pattern = matrix.pattern, pattern != .unstructured {
                throw PruneError("besa: \(matrix.name) has the N:M pattern \(pattern); besa prunes per row")
            }
        }
        let counts = matrices.map { Double($0.rows * $0.columns) }
        let total = counts.reduce(0, +)
        let target = zip(matrices, counts).reduce(0.0) { $0 + $1.0.sparsity * $1.1 } / total
        guard target > 0, target < 1 else {
            throw PruneError("besa: layer \(work.layer)'s target sparsity must be in (0, 1), got \(target)")
        }
        var learner = BESABlock(
            matrices: matrices, weights: counts.map { $0 / total }, target: target, step: self)
        try learner.train(work)
        learner.finish(exact: exact, total: total)
    }
}
