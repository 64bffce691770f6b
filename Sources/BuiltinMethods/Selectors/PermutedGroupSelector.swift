import Foundation
import PruningEngine

/// Selector: N:M after RIA's input-channel permutation (`ChannelPermutation`): the pattern is
/// applied to the columns in permuted order and the mask mapped back; the stored weights keep
/// their order, so a dense N:M kernel would need the layer's inputs permuted the same way.
///
/// The permuted retained score is never below the unpermuted one (see `ChannelPermutation.search`).
/// The reference's `--fast` block split is not offered: whole-matrix rounds are cheap at SmolLM2
/// sizes (at most 384 groups). Notes record the retained score before and after.
public struct PermutedGroupSelector: PruneStep {
    /// The N:M pattern.
    public let pattern: SparsityPattern
    /// Whether linear-sum-assignment rounds refine the zig-zag reallocation.
    public let refine: Bool
    /// "N:M-permuted".
    public var name: String { "\(pattern)-permuted" }
    /// Selector.
    public var stage: PruneStage { .selector }
    /// None.
    public var requirement: StatisticsRequirement { [] }
    /// True: the groups are in permuted channel order, which no refiner can keep.
    public var producesPermutedGroups: Bool { true }

    /// - Throws: `PruneError` if `pattern` is unstructured or not `0 < N < M ≤ 64`.
    public init(_ pattern: SparsityPattern, refine: Bool = true) throws(PruneError) {
        guard pattern.prunedPerGroup != nil else {
            throw PruneError("the permuted group selector needs an N:M pattern")
        }
        self.pattern = try pattern.validated()
        self.refine = refine
    }

    /// Sets `work.mask` from `work.scores` and notes the retained scores.
    public func run(_ work: MatrixWork) throws(PruneError) {
        try work.requireScores(for: name)
        try pattern.validate(columns: work.columns, name: work.name)
        do {
            let permutation = try ChannelPermutation(
                scores: work.scores, rows: work.rows, columns: work.columns,
                pattern: pattern)
            let outcome = try permutation.search(refine: refine)
            work.mask = try permutation.mask(outcome.permutation)
            work.notes.append(Self.note(outcome, refine: refine))
        } catch {
            throw PruneError("\(work.name): \(error.message)")
        }
    }

    /// "permutation: retained score +3.10% (identity …, zig-zag …, after lsa …)".
    static func note(_ outcome: ChannelPermutation.Outcome, refine: Bool) -> String {
        let gain = outcome.identityScore > 0 ? (outcome.finalScore / outcome.identityScore - 1) * 100 : 0
        let heuristic = outcome.heuristicScore < outcome.identityScore ? " (below identity: started from identity)" : ""
        let number = { (value: Double) in String(format: "%.6g", value) }
        return String(format: "permutation: retained score %+.2f%%", gain)
            + " (identity \(number(outcome.identityScore)), zig-zag \(number(outcome.heuristicScore))\(heuristic),"
            + " \(refine ? "after lsa" : "final") \(number(outcome.finalScore)))"
    }
}
