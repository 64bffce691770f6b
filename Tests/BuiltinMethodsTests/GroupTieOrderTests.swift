import BuiltinMethods
import Kernels
import ModelIO
import PruningEngine
import Testing

/// Equal scores inside an N:M group resolve as the reference code's
/// `torch.topk(group, M − N, largest=False)` does on CPU, for magnitude and Wanda (also when OWL
/// sets the pattern); RIA keeps its documented lower-column order. The expected columns were
/// recorded from torch 2.15.0 (CPU) and match libstdc++'s `std::nth_element`, which torch runs with
/// a value-only comparison; they are not "lower column first" (of four equal scores torch prunes
/// columns 2 and 3).
@Suite struct GroupTieOrderTests {
    /// Every group of four values from {0, 1, 2}, in lexicographic order (the first column varies
    /// slowest): 81 groups, most of them with ties.
    static let groups: [[Float]] = (0..<81).map { code in
        (0..<4).map { column in Float(code / Int(pow3(3 - column)) % 3) }
    }

    /// The two columns torch.topk prunes in each of `groups` (2:4), as recorded from torch.
    static let torchPruned: [[Int]] = """
        23 12 12 13 01 01 13 01 01 23 02 02 03 02 01 03 01 01 23 02 02 03 02 02 03 03 02 \
        23 12 12 13 13 12 13 13 01 23 23 12 23 23 12 13 13 01 23 23 02 23 23 02 03 03 02 \
        23 12 12 13 13 12 13 13 13 23 23 12 23 23 12 13 13 13 23 23 23 23 23 23 23 23 23
        """.split(separator: " ").map { pair in pair.map { Int(String($0))! } }

    static func pow3(_ exponent: Int) -> Int { (0..<exponent).reduce(1) { value, _ in value * 3 } }

    /// The mask (1 = pruned) of `torchPruned`, one group after another.
    static var torchMask: [UInt8] {
        torchPruned.flatMap { pruned in (0..<4).map { column -> UInt8 in pruned.contains(column) ? 1 : 0 } }
    }

    /// The mask a stable ascending sort gives (ties to the lower column).
    static var lowerColumnMask: [UInt8] {
        groups.flatMap { group in
            let pruned = (0..<4).sorted { (group[$0], $0) < (group[$1], $1) }.prefix(2)
            return (0..<4).map { column -> UInt8 in pruned.contains(column) ? 1 : 0 }
        }
    }

    /// One row per group; signs alternate so that magnitude and Wanda see |W| = the group's values.
    static func work() -> MatrixWork {
        let weights = groups.enumerated().flatMap { row, group in
            group.enumerated().map { column, value in (row + column) % 2 == 0 ? value * 0.25 : -value * 0.25 }
        }
        // Every column sees the same input, so Wanda's column factor is one constant.
        let statistics = InputStatistics(columns: 4, requirement: .squaredNorms)
        [Float](repeating: 1.5, count: 3 * 4).withUnsafeBufferPointer { statistics.accumulate($0) }
        return MatrixWork(
            name: "blk.0.ffn_up.weight", layer: 0, part: .up, rows: groups.count, columns: 4,
            weights: TensorStorage(weights), statistics: statistics)
    }

    static func run(_ steps: [any PruneStep], pattern: SparsityPattern? = nil) throws -> [UInt8] {
        let work = work()
        work.pattern = pattern
        for step in steps { try step.run(work) }
        return work.mask
    }

    @Test("the crafted groups tell the two orders apart")
    func ordersDiffer() {
        #expect(Self.torchPruned.count == 81 && Self.torchPruned.allSatisfy { $0.count == 2 })
        let differing = (0..<81).filter { group in
            Self.torchMask[group * 4..<group * 4 + 4] != Self.lowerColumnMask[group * 4..<group * 4 + 4]
        }
        #expect(differing.count == 36, "\(differing)")
    }

    @Test("the kernel prunes the columns torch.topk prunes, 2:4")
    func kernelTwoFour() {
        let scores = Self.groups.flatMap { $0 }
        var mask = [UInt8](repeating: 9, count: scores.count)
        shears_prune_select_groups_topk(scores, Self.groups.count, 4, 2, 4, &mask)
        #expect(mask == Self.torchMask)
        // Two groups per row give the same answer per group.
        var wide = [UInt8](repeating: 9, count: scores.count)
        shears_prune_select_groups_topk(scores, Self.groups.count / 3, 12, 2, 4, &wide)
        #expect(wide == Self.torchMask)
    }

    @Test(
        "the kernel matches torch.topk for 4:8 and for 1 of 64 (torch's heap selection)",
        arguments: [
            ([Float](repeating: 1, count: 8), 4, [4, 5, 6, 7]),
            ([0, 1, 0, 1, 0, 1, 0, 1], 4, [0, 2, 4, 6]),
            ([2, 2, 1, 1, 2, 2, 1, 1], 4, [2, 3, 6, 7]),
            ([3, 0, 3, 0, 0, 3, 0, 3], 4, [1, 3, 4, 6]),
            ([Float](repeating: 1, count: 64), 1, [0]),
            ([Float](repeating: 2, count: 30) + [1, 2, 2, 1] + [Float](repeating: 2, count: 30), 1, [30]),
        ])
    func kernelOtherGroups(scores: [Float], prune: Int, expected: [Int]) {
        var mask = [UInt8](repeating: 9, count: scores.count)
        shears_prune_select_groups_topk(scores, 1, scores.count, prune, scores.count, &mask)
        #expect(mask.indices.filter { mask[$0] == 1 } == expected)
        #expect(mask.allSatisfy { $0 <= 1 })
    }

    @Test("magnitude and Wanda 2:4 prune as torch.topk on tied scores")
    func methods() throws {
        let pattern = SparsityPattern.nm(keep: 2, group: 4)
        #expect(try Self.run(try PruneMethod.magnitude(sparsity: nil, pattern: pattern)) == Self.torchMask)
        #expect(try Self.run(try PruneMethod.wanda(sparsity: nil, pattern: pattern)) == Self.torchMask)
    }

    @Test("magnitude and Wanda follow torch.topk in an N:M pattern an allocator set (OWL)")
    func allocatedPattern() throws {
        let pattern = SparsityPattern.nm(keep: 2, group: 4)
        for steps in [
            try PruneMethod.magnitude(sparsity: 0.5), try PruneMethod.magnitude(sparsity: 0.5, scope: .row),
            try PruneMethod.wanda(sparsity: 0.5),
        ] {
            #expect(try Self.run(steps, pattern: pattern) == Self.torchMask, "\(steps.map(\.name))")
        }
    }

    @Test("RIA keeps ties to the lower column")
    func riaLowerColumn() throws {
        let steps = try PruneMethod.ria(sparsity: nil, pattern: .nm(keep: 2, group: 4))
        #expect((steps.last as? GroupSelector)?.ties == .lowerColumn)
        let work = Self.work()
        work.scores = Self.groups.flatMap { $0 }
        work.pattern = .nm(keep: 2, group: 4)
        try RowSelector(groupTies: .lowerColumn).run(work)
        #expect(work.mask == Self.lowerColumnMask)
        try MatrixThresholdSelector(groupTies: .lowerColumn).run(work)
        #expect(work.mask == Self.lowerColumnMask)
    }
}
