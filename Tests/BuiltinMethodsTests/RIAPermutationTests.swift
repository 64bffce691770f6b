import BuiltinMethods
import ModelIO
import PruningEngine
import TestSupport
import Testing

/// The Hungarian solver against brute force; RIA's zig-zag reallocation, assignment rounds and
/// permuted N:M masks against their definitions.
@Suite struct RIAPermutationTests {
    static func randomScores(rows: Int, columns: Int, rng: inout SplitMix64) -> [Float] {
        // Skewed positive scores, like relative importances times activation norms.
        (0..<rows * columns).map { _ in
            let u = rng.nextUnitFloat()
            return u * u * u + 1e-4
        }
    }

    /// Every permutation of 0..<n (Heap's algorithm).
    static func permutations(_ n: Int) -> [[Int]] {
        var result: [[Int]] = [], items = Array(0..<n)
        func generate(_ k: Int) {
            if k <= 1 {
                result.append(items)
                return
            }
            for i in 0..<k {
                generate(k - 1)
                items.swapAt(k % 2 == 0 ? i : 0, k - 1)
            }
        }
        generate(n)
        return result
    }

    /// The retained score by definition: per row and permuted group, the N largest scores.
    static func retained(
        _ scores: [Float], rows: Int, columns: Int, keep: Int, group: Int, _ permutation: [Int]
    ) -> Double {
        var total = 0.0
        for r in 0..<rows {
            for start in stride(from: 0, to: columns, by: group) {
                let values = (start..<start + group).map { Double(scores[r * columns + permutation[$0]]) }.sorted(by: >)
                total += values.prefix(keep).reduce(0, +)
            }
        }
        return total
    }

    @Test("Hungarian maximisation equals brute force for n = 1...7")
    func hungarian() throws {
        var rng = SplitMix64(seed: 42)
        for n in 1...7 {
            let all = Self.permutations(n)
            for trial in 0..<6 {
                // Half the trials use small integers, which create many tied optima.
                let values = (0..<n * n).map { _ in
                    trial % 2 == 0 ? Double(rng.nextUnitFloat()) * 10 - 3 : Double(rng.next() % 4)
                }
                let total = { (assignment: [Int]) in
                    assignment.enumerated().reduce(0.0) { $0 + values[$1.0 * n + $1.1] }
                }
                let best = all.map(total).max()!
                let assignment = try LinearAssignment.maximize(values, size: n)
                #expect(assignment.sorted() == Array(0..<n), "n \(n): \(assignment) is not a permutation")
                #expect(abs(total(assignment) - best) <= 1e-9, "n \(n) trial \(trial): \(total(assignment)) < \(best)")
            }
        }
    }

    @Test("Hungarian on degenerate and bad matrices")
    func hungarianEdges() throws {
        let equal = try LinearAssignment.maximize([Double](repeating: 2.5, count: 36), size: 6)
        #expect(equal.sorted() == Array(0..<6))
        #expect(try LinearAssignment.maximize([], size: 0).isEmpty)
        // A diagonal that must be avoided: the best is the anti-diagonal.
        #expect(try LinearAssignment.maximize([0, 5, 5, 0], size: 2) == [1, 0])
        #expect { try LinearAssignment.maximize([1, .nan, 2, 3], size: 2) } throws: { "\($0)".contains("non-finite") }
        #expect { try LinearAssignment.maximize([1, 2, 3], size: 2) } throws: { "\($0)".contains("2 × 2") }
    }

    @Test("zig-zag reallocation: the reference's order on a hand-made example")
    func zigZag() throws {
        // Ascending importance: 1, 5, 3, 7 | 0, 6, 2, 4 → chunks [1,5] [3,7] [0,6] [2,4]; even chunks
        // (0-based) run forward, odd chunks backward.
        let order = try ChannelPermutation.zigZag(importance: [5, 1, 7, 3, 8, 2, 6, 4], group: 4)
        #expect(order == [1, 7, 0, 4, 5, 3, 6, 2])
        // Ties go to the lower column; M = 2 with three groups.
        #expect(try ChannelPermutation.zigZag(importance: [1, 1, 1, 0, 0, 0], group: 2) == [3, 2, 4, 1, 5, 0])
        #expect { try ChannelPermutation.zigZag(importance: [1, 2, 3], group: 2) } throws: {
            "\($0)".contains("does not divide")
        }
    }

    @Test(
        "permuted masks are N:M in permuted order, map back, and never retain less than the identity",
        arguments: [(2, 4), (1, 4), (3, 4), (4, 8)])
    func searchProperties(keep: Int, group: Int) throws {
        var rng = SplitMix64(seed: UInt64(keep * 100 + group))
        for trial in 0..<25 {
            let rows = 1 + Int(rng.next() % 12), columns = group * (1 + Int(rng.next() % 10))
            let scores = Self.randomScores(rows: rows, columns: columns, rng: &rng)
            let search = try ChannelPermutation(
                scores: scores, rows: rows, columns: columns,
                pattern: .nm(keep: keep, group: group))
            for refine in [false, true] {
                let outcome = try search.search(refine: refine)
                let permutation = outcome.permutation
                #expect(permutation.sorted() == Array(0..<columns))
                let identity = Self.retained(
                    scores, rows: rows, columns: columns, keep: keep, group: group, Array(0..<columns))
                let final = Self.retained(scores, rows: rows, columns: columns, keep: keep, group: group, permutation)
                #expect(abs(outcome.identityScore - identity) <= 1e-9 * identity)
                #expect(abs(outcome.finalScore - final) <= 1e-9 * final)
                #expect(final >= identity - 1e-12, "trial \(trial) refine \(refine): \(final) < identity \(identity)")
                let mask = try search.mask(permutation)
                var retainedByMask = 0.0
                for r in 0..<rows {
                    for start in stride(from: 0, to: columns, by: group) {
                        let slots = Array(start..<start + group)
                        let pruned = slots.filter { mask[r * columns + permutation[$0]] == 1 }
                        #expect(pruned.count == group - keep, "row \(r) permuted group at \(start)")
                        // The pruned ones are the lowest scores, ties to the lower permuted slot.
                        let expected = slots.sorted {
                            (scores[r * columns + permutation[$0]], $0) < (scores[r * columns + permutation[$1]], $1)
                        }.prefix(group - keep)
                        #expect(Set(pruned) == Set(expected))
                        for slot in slots where mask[r * columns + permutation[slot]] == 0 {
                            retainedByMask += Double(scores[r * columns + permutation[slot]])
                        }
                    }
                }
                #expect(abs(retainedByMask - final) <= 1e-9 * final)
            }
        }
    }

    @Test("an assignment round finds the best reassignment of its slot (brute force) and never lowers the score")
    func assignmentRounds() throws {
        var rng = SplitMix64(seed: 7)
        for trial in 0..<30 {
            let group = trial % 3 == 0 ? 8 : 4, keep = trial % 3 == 0 ? 4 : 1 + trial % 3
            let groups = 2 + trial % 4, rows = 1 + Int(rng.next() % 40), columns = groups * group
            let scores = Self.randomScores(rows: rows, columns: columns, rng: &rng)
            let search = try ChannelPermutation(
                scores: scores, rows: rows, columns: columns,
                pattern: .nm(keep: keep, group: group))
            var permutation = Array(0..<columns)
            permutation.shuffle(using: &rng)
            for slot in 0..<group {
                let before = try search.retainedScore(permutation)
                let refined = try search.refined(permutation, slot: slot)
                let after = try search.retainedScore(refined)
                #expect(after >= before, "trial \(trial) slot \(slot): \(after) < \(before)")
                // Only slot `slot` moved, and only among groups.
                for s in 0..<columns where s % group != slot { #expect(refined[s] == permutation[s]) }
                var best = -Double.infinity
                for assignment in Self.permutations(groups) {
                    var candidate = permutation
                    for g in 0..<groups { candidate[g * group + slot] = permutation[assignment[g] * group + slot] }
                    best = max(
                        best, Self.retained(scores, rows: rows, columns: columns, keep: keep, group: group, candidate))
                }
                #expect(after >= best * (1 - 1e-6), "trial \(trial) slot \(slot): \(after) below the optimum \(best)")
                permutation = refined
            }
        }
    }

    @Test("the selector notes the gain and refuses bad input")
    func selector() throws {
        var rng = SplitMix64(seed: 11)
        let rows = 6, columns = 16
        let work = MatrixWork(
            name: "blk.1.attn_q.weight", layer: 1, part: .query, rows: rows, columns: columns,
            weights: TensorStorage(zeros: rows * columns), statistics: nil)
        work.scores = Self.randomScores(rows: rows, columns: columns, rng: &rng)
        try PermutedGroupSelector(.nm(keep: 2, group: 4)).run(work)
        #expect(work.mask.count == rows * columns && work.mask.filter { $0 == 1 }.count == rows * columns / 2)
        #expect(work.notes.count == 1 && work.notes[0].hasPrefix("permutation: retained score +"), "\(work.notes)")
        let narrow = MatrixWork(
            name: "blk.1.attn_k.weight", layer: 1, part: .key, rows: 2, columns: 6,
            weights: TensorStorage(zeros: 12), statistics: nil)
        narrow.scores = [Float](repeating: 1, count: 12)
        #expect { try PermutedGroupSelector(.nm(keep: 2, group: 4)).run(narrow) } throws: {
            "\($0)".contains("blk.1.attn_k.weight") && "\($0)".contains("divide")
        }
        #expect { try PermutedGroupSelector(.unstructured) } throws: { "\($0)".contains("N:M") }
        let search = try ChannelPermutation(
            scores: work.scores, rows: rows, columns: columns, pattern: .nm(keep: 2, group: 4))
        #expect { try search.refined(Array(0..<columns), slot: 4) } throws: { "\($0)".contains("slot 4") }
        #expect { try search.mask([0, 0] + Array(2..<columns)) } throws: { "\($0)".contains("repeated") }
        #expect {
            try ChannelPermutation(scores: [1, .nan, 1, 1], rows: 1, columns: 4, pattern: .nm(keep: 2, group: 4))
        } throws: { "\($0)".contains("not finite") }
    }
}
