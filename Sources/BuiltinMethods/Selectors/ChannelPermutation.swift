import Kernels
import PruningEngine

/// RIA's input-channel permutation for N:M sparsity (the reference's `--reallocation` and `--lsa`):
/// columns are reordered so that each group of M mixes important and unimportant columns, the
/// N:M rule is applied in that order, and the mask is mapped back to the stored column order.
///
/// A permutation lists, for every permuted slot `s`, the stored column `permutation[s]` it holds.
/// Its objective is the total retained score: per row and permuted group, the sum of the N kept
/// (largest) scores.
public struct ChannelPermutation {
    /// What a full search found.
    public struct Outcome: Sendable {
        /// The final permutation (slot → stored column).
        public let permutation: [Int]
        /// Retained score without permutation.
        public let identityScore: Double
        /// Retained score of the zig-zag reallocation.
        public let heuristicScore: Double
        /// Retained score of `permutation`.
        public let finalScore: Double
    }

    /// Output rows of the score matrix.
    public let rows: Int
    /// Input columns (a multiple of `group`).
    public let columns: Int
    /// N: weights kept per group.
    public let keep: Int
    /// M: the group width.
    public let group: Int
    private let scores: [Float]

    /// Prepares the search over a `rows × columns` row-major score matrix for an N:M `pattern`.
    ///
    /// - Throws: `PruneError` for an unstructured or invalid pattern, a column count that M does
    ///   not divide, a wrong score count or a non-finite score.
    public init(scores: [Float], rows: Int, columns: Int, pattern: SparsityPattern) throws(PruneError) {
        guard case .nm(let keep, let group) = try pattern.validated() else {
            throw PruneError("channel permutation needs an N:M pattern")
        }
        guard rows > 0, columns > 0, columns % group == 0 else {
            throw PruneError("channel permutation: N:M pattern \(pattern) needs M to divide the \(columns) columns")
        }
        guard scores.count == rows * columns else {
            throw PruneError("channel permutation: \(scores.count) scores for a \(rows) × \(columns) matrix")
        }
        guard scores.allSatisfy(\.isFinite) else { throw PruneError("channel permutation: a score is not finite") }
        self.rows = rows
        self.columns = columns
        self.keep = keep
        self.group = group
        self.scores = scores
    }

    /// Number of groups, `columns / M`.
    public var groups: Int { columns / group }

    /// Column importance `Σ_r score_rj`, summed in Double.
    public func columnImportance() -> [Double] {
        var importance = [Double](repeating: 0, count: columns)
        scores.withUnsafeBufferPointer { score in
            for r in 0..<rows {
                let row = score.baseAddress! + r * columns
                for j in 0..<columns { importance[j] += Double(row[j]) }
            }
        }
        return importance
    }

    /// The reference's heuristic reallocation: the columns sorted by ascending `importance` (ties
    /// to the lower index; the reference's sort is not stable) are cut into M chunks of G; slot
    /// `g·M + t` takes element g of chunk t when t is even (0-based), element G−1−g when t is odd,
    /// so every group draws one column from each importance quantile, alternating direction.
    ///
    /// - Throws: `PruneError` if `group` is not positive or does not divide the column count.
    public static func zigZag(importance: [Double], group: Int) throws(PruneError) -> [Int] {
        guard group > 0, importance.count % group == 0 else {
            throw PruneError("zig-zag reallocation: group \(group) does not divide \(importance.count) columns")
        }
        let order = importance.indices.sorted { (importance[$0], $0) < (importance[$1], $1) }
        let chunk = importance.count / group
        var permutation = [Int](repeating: 0, count: importance.count)
        for t in 0..<group {
            for g in 0..<chunk {
                permutation[g * group + t] = order[t * chunk + (t % 2 == 0 ? g : chunk - 1 - g)]
            }
        }
        return permutation
    }

    /// The total retained score when the N:M rule is applied in `permutation`'s order.
    ///
    /// - Throws: `PruneError` unless `permutation` is a permutation of the columns.
    public func retainedScore(_ permutation: [Int]) throws(PruneError) -> Double {
        try check(permutation)
        return retained(permutation)
    }

    /// One linear-sum-assignment round for slot `slot` (0 ≤ slot < M): the other M−1 columns of
    /// every group stay; the slot-`slot` columns are reassigned among the groups to maximise the
    /// retained score. Returns the input when the solution (computed from float sums) would not
    /// raise the exactly summed objective, so a round never lowers it.
    ///
    /// - Throws: `PruneError` for a bad slot or permutation.
    public func refined(_ permutation: [Int], slot: Int) throws(PruneError) -> [Int] {
        try check(permutation)
        guard slot >= 0, slot < group else {
            throw PruneError("channel permutation: slot \(slot) is outside 0..<\(group)")
        }
        let groups = self.groups, rows = self.rows, columns = self.columns, group = self.group, keep = self.keep
        // Group g keeps the top N−1 of its fixed columns plus max(candidate, N-th largest fixed):
        // only that threshold depends on g, so the values of a round are sums of maxima.
        var thresholds = [Float](repeating: 0, count: groups * rows)
        var candidates = [Float](repeating: 0, count: groups * rows)
        scores.withUnsafeBufferPointer { score in
            withUnsafeTemporaryAllocation(of: Float.self, capacity: group) { fixed in
                for i in 0..<rows {
                    let row = score.baseAddress! + i * columns
                    for g in 0..<groups {
                        var count = 0
                        for s in 0..<group where s != slot {
                            Self.insertDescending(row[permutation[g * group + s]], into: fixed, count: count)
                            count += 1
                        }
                        thresholds[g * rows + i] = fixed[keep - 1]
                        candidates[g * rows + i] = row[permutation[g * group + slot]]
                    }
                }
            }
        }
        var values = [Double](repeating: 0, count: groups * groups)
        thresholds.withUnsafeBufferPointer { t in
            candidates.withUnsafeBufferPointer { c in
                values.withUnsafeMutableBufferPointer { v in
                    shears_ria_assignment_values(t.baseAddress!, c.baseAddress!, groups, rows, v.baseAddress!)
                }
            }
        }
        let assignment = try LinearAssignment.maximize(values, size: groups)
        var result = permutation
        for g in 0..<groups { result[g * group + slot] = permutation[assignment[g] * group + slot] }
        return retained(result) >= retained(permutation) ? result : permutation
    }

    /// The full search: zig-zag reallocation, or the identity when zig-zag retains less (a
    /// deliberate deviation: the reference keeps zig-zag even when it is worse), then, when
    /// `refine`, one assignment round per slot 0..<M. The final score is never below the identity's.
    public func search(refine: Bool) throws(PruneError) -> Outcome {
        let identity = Array(0..<columns)
        let identityScore = retained(identity)
        let heuristic = try Self.zigZag(importance: columnImportance(), group: group)
        let heuristicScore = retained(heuristic)
        var permutation = heuristicScore >= identityScore ? heuristic : identity
        if refine {
            for slot in 0..<group { permutation = try refined(permutation, slot: slot) }
        }
        return Outcome(
            permutation: permutation, identityScore: identityScore, heuristicScore: heuristicScore,
            finalScore: retained(permutation))
    }

    /// The N:M mask (1 = pruned) chosen in `permutation`'s order (the M − N lowest scores of each
    /// permuted group, ties to the lower permuted slot), mapped back to the stored columns.
    ///
    /// - Throws: `PruneError` unless `permutation` is a permutation of the columns.
    public func mask(_ permutation: [Int]) throws(PruneError) -> [UInt8] {
        try check(permutation)
        let rows = self.rows, columns = self.columns
        var permuted = [Float](repeating: 0, count: scores.count)
        scores.withUnsafeBufferPointer { score in
            for i in 0..<rows {
                for s in 0..<columns { permuted[i * columns + s] = score[i * columns + permutation[s]] }
            }
        }
        var permutedMask = [UInt8](repeating: 0, count: scores.count)
        permuted.withUnsafeBufferPointer { p in
            permutedMask.withUnsafeMutableBufferPointer { m in
                shears_prune_select_groups(p.baseAddress!, rows, columns, group - keep, group, m.baseAddress!)
            }
        }
        var mask = [UInt8](repeating: 0, count: scores.count)
        for i in 0..<rows {
            for s in 0..<columns { mask[i * columns + permutation[s]] = permutedMask[i * columns + s] }
        }
        return mask
    }

    // MARK: Private

    private func check(_ permutation: [Int]) throws(PruneError) {
        var seen = [Bool](repeating: false, count: columns)
        guard permutation.count == columns else {
            throw PruneError("channel permutation: \(permutation.count) entries for \(columns) columns")
        }
        for column in permutation {
            guard column >= 0, column < columns, !seen[column] else {
                throw PruneError("channel permutation: column \(column) is out of range or repeated")
            }
            seen[column] = true
        }
    }

    private func retained(_ permutation: [Int]) -> Double {
        let group = self.group, keep = self.keep, columns = self.columns
        var total = 0.0
        scores.withUnsafeBufferPointer { score in
            withUnsafeTemporaryAllocation(of: Float.self, capacity: group) { values in
                for i in 0..<rows {
                    let row = score.baseAddress! + i * columns
                    for g in 0..<groups {
                        for s in 0..<group {
                            Self.insertDescending(row[permutation[g * group + s]], into: values, count: s)
                        }
                        for s in 0..<keep { total += Double(values[s]) }
                    }
                }
            }
        }
        return total
    }

    /// Inserts `value` into the first `count` entries of `values`, kept in descending order.
    private static func insertDescending(_ value: Float, into values: UnsafeMutableBufferPointer<Float>, count: Int) {
        var position = count
        while position > 0, values[position - 1] < value {
            values[position] = values[position - 1]
            position -= 1
        }
        values[position] = value
    }
}
