import PruningEngine
import SeededRandom
import Testing

/// The engine's side of a data-parallel prune without MPI: statistics gathered on two shards of
/// the windows and combined equal those of one process taking every window in turn.
@Suite("statistics combined across ranks")
struct DistributedStatisticsTests {
    /// Rank 0 of two, with rank 1's contributions given (recorded from rank 1's own `combine`).
    final class TwoRanks: ProcessGroup, @unchecked Sendable {
        let rank: Int
        let size = 2
        /// Rank 1's gathered floats and Gram matrix, recorded while it is rank 1.
        var otherValues: [Float] = []
        var otherGram: [Float] = []

        init(rank: Int) { self.rank = rank }

        func gather(_ values: [Float]) -> [Float] {
            if rank == 1 {
                otherValues = values
                return values
            }
            return values + otherValues
        }
        func gather(bytes: [UInt8]) -> [[UInt8]] { [bytes, bytes] }
        func sum(_ values: UnsafeMutableBufferPointer<Float>) {
            if rank == 1 {
                otherGram = Array(values)
                return
            }
            for i in values.indices { values[i] += otherGram[i] }
        }
        func sum(_ values: [Double]) -> [Double] { values }
    }

    /// `count` windows of `rows` × `columns` standard normals, scaled per column.
    static func windows(_ count: Int, rows: [Int], columns: Int) -> [[Float]] {
        var random = NormalSource(seed: 7)
        return (0..<count).map { index in
            (0..<(rows[index % rows.count] * columns)).map { i in
                Float(random.next()) * Float(1 + i % columns) + 0.25
            }
        }
    }

    @Test("shards 3 + 2 of five windows: squared norms, moments bit-equal; Gram to float rounding")
    func combinedEqualsSingle() {
        let columns = 12
        let data = Self.windows(5, rows: [7, 3, 9], columns: columns)
        let requirement: StatisticsRequirement = [.squaredNorms, .moments, .gram]
        let single = InputStatistics(columns: columns, requirement: requirement)
        for window in data { window.withUnsafeBufferPointer { single.accumulate($0) } }

        let group = TwoRanks(rank: 1)
        let shards = [group.shard(of: 5), TwoRanks(rank: 0).shard(of: 5)]
        #expect(shards == [3..<5, 0..<3])
        let second = InputStatistics(columns: columns, requirement: requirement, distributed: true)
        for window in data[3..<5] { window.withUnsafeBufferPointer { second.accumulate($0) } }
        second.combine(across: group)
        let first = InputStatistics(columns: columns, requirement: requirement, distributed: true)
        for window in data[0..<3] { window.withUnsafeBufferPointer { first.accumulate($0) } }
        let rankZero = TwoRanks(rank: 0)
        rankZero.otherValues = group.otherValues
        rankZero.otherGram = group.otherGram
        first.combine(across: rankZero)

        #expect(first.sequences == 5 && first.tokens == single.tokens)
        #expect(first.squaredNorms == single.squaredNorms)
        #expect(first.sums == single.sums)
        #expect(first.variances == single.variances)
        let combined = first.gram!.buffer, reference = single.gram!.buffer
        for row in 0..<columns {
            for column in row..<columns {
                let (a, b) = (combined[row * columns + column], reference[row * columns + column])
                #expect(abs(a - b) <= 1e-5 * max(abs(b), 1), "H[\(row), \(column)]: \(a) vs \(b)")
            }
        }
    }

    @Test("shards cover the windows in order, the first ranks taking one more")
    func shards() {
        let ranks = (0..<3).map { ShardingGroup(rank: $0, size: 3) }
        #expect(ranks.map { $0.shard(of: 8) } == [0..<3, 3..<6, 6..<8])
        #expect(ranks.map { $0.shard(of: 3) } == [0..<1, 1..<2, 2..<3])
    }

    /// A group of any size, for its shards only.
    final class ShardingGroup: ProcessGroup, @unchecked Sendable {
        let rank: Int
        let size: Int
        init(rank: Int, size: Int) {
            self.rank = rank
            self.size = size
        }
        func gather(_ values: [Float]) -> [Float] { values }
        func gather(bytes: [UInt8]) -> [[UInt8]] { [bytes] }
        func sum(_ values: UnsafeMutableBufferPointer<Float>) {}
        func sum(_ values: [Double]) -> [Double] { values }
    }
}
