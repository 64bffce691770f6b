import BuiltinMethods
import Foundation
import ModelIO
import PruningEngine
import TestSupport
import Testing

/// RIA scores and masks against a plain Double reference written here, on small random layers
/// with ties (duplicated columns), a zero column and a zero row; bad parameters.
@Suite struct RIATests {
    /// A random layer: `rows × columns` weights and the input statistics of `tokens` random rows.
    struct Layer {
        let rows: Int, columns: Int
        let weights: [Float]
        let statistics: InputStatistics

        init(
            rows: Int, columns: Int, seed: UInt64, duplicate: (Int, Int)? = nil, zeroColumn: Int? = nil,
            zeroRow: Int? = nil, silentInput: Int? = nil
        ) {
            var rng = SplitMix64(seed: seed)
            var weights = (0..<rows * columns).map { _ in rng.nextUnitFloat() * 2 - 1 }
            var input = (0..<5 * columns).map { _ in rng.nextUnitFloat() * 2 - 1 }
            if let (from, to) = duplicate {
                for r in 0..<rows { weights[r * columns + to] = weights[r * columns + from] }
                for t in 0..<5 { input[t * columns + to] = input[t * columns + from] }
            }
            if let zeroColumn { for r in 0..<rows { weights[r * columns + zeroColumn] = 0 } }
            if let zeroRow { for j in 0..<columns { weights[zeroRow * columns + j] = 0 } }
            if let silentInput { for t in 0..<5 { input[t * columns + silentInput] = 0 } }
            self.rows = rows
            self.columns = columns
            self.weights = weights
            statistics = InputStatistics(columns: columns, requirement: .squaredNorms)
            input.withUnsafeBufferPointer { statistics.accumulate($0) }
        }

        func work() -> MatrixWork {
            MatrixWork(
                name: "blk.0.ffn_up.weight", layer: 0, part: .up, rows: rows, columns: columns,
                weights: TensorStorage(weights), statistics: statistics)
        }

        /// The RIA formula in Double, a zero sum counting as "relative importance 0".
        func referenceScores(a: Double) -> [Double] {
            var columnSums = [Double](repeating: 0, count: columns), rowSums = [Double](repeating: 0, count: rows)
            for r in 0..<rows {
                for j in 0..<columns {
                    columnSums[j] += Double(abs(weights[r * columns + j]))
                    rowSums[r] += Double(abs(weights[r * columns + j]))
                }
            }
            return (0..<rows * columns).map { index in
                let r = index / columns, j = index % columns, w = Double(abs(weights[index]))
                let relative = (columnSums[j] > 0 ? w / columnSums[j] : 0) + (rowSums[r] > 0 ? w / rowSums[r] : 0)
                return relative * pow(Double(statistics.squaredNorms[j]).squareRoot(), a)
            }
        }
    }

    /// Reference masks (1 = pruned) from Double scores.
    enum Reference {
        static func matrix(_ scores: [Double], sparsity: Double) -> [UInt8] {
            let tau = scores.sorted()[Int(Double(scores.count) * sparsity)]
            return scores.map { $0 <= tau ? 1 : 0 }
        }

        static func row(_ scores: [Double], columns: Int, sparsity: Double) -> [UInt8] {
            var mask = [UInt8](repeating: 0, count: scores.count)
            for start in stride(from: 0, to: scores.count, by: columns) {
                let order = (0..<columns).sorted { (scores[start + $0], $0) < (scores[start + $1], $1) }
                for j in order.prefix(Int(Double(columns) * sparsity)) { mask[start + j] = 1 }
            }
            return mask
        }

        static func groups(_ scores: [Double], keep: Int, group: Int) -> [UInt8] {
            var mask = [UInt8](repeating: 0, count: scores.count)
            for start in stride(from: 0, to: scores.count, by: group) {
                let order = (0..<group).sorted { (scores[start + $0], $0) < (scores[start + $1], $1) }
                for j in order.prefix(group - keep) { mask[start + j] = 1 }
            }
            return mask
        }
    }

    static let layers: [Layer] = [
        Layer(rows: 8, columns: 12, seed: 1),
        Layer(rows: 16, columns: 32, seed: 2, duplicate: (3, 9)),
        Layer(rows: 7, columns: 24, seed: 3, duplicate: (0, 1), zeroColumn: 5, zeroRow: 2),
        Layer(rows: 24, columns: 16, seed: 4, zeroColumn: 15, silentInput: 6),
    ]

    func run(_ steps: [any PruneStep], on layer: Layer) throws -> MatrixWork {
        let work = layer.work()
        for step in steps { try step.run(work) }
        return work
    }

    @Test("scores match the Double formula (a = 0.5, 0, 1) and contain no NaN for zero rows and columns")
    func scores() throws {
        for (index, layer) in Self.layers.enumerated() {
            for a in [0.5, 0, 1] {
                let work = try run([try RIAScore(exponent: a)], on: layer)
                let reference = layer.referenceScores(a: a)
                #expect(work.scores.count == reference.count)
                for (got, expected) in zip(work.scores, reference) {
                    #expect(
                        got.isFinite && abs(Double(got) - expected) <= 1e-6 * max(expected, 1e-30),
                        "layer \(index) a \(a): \(got) vs \(expected)")
                }
            }
        }
        // The zero column, the zero row and a silent input score exactly 0 (a = 0.5).
        let zeros = try run([try RIAScore()], on: Self.layers[2]).scores
        #expect((0..<7).allSatisfy { zeros[$0 * 24 + 5] == 0 } && (0..<24).allSatisfy { zeros[2 * 24 + $0] == 0 })
        let silent = try run([try RIAScore()], on: Self.layers[3]).scores
        #expect((0..<24).allSatisfy { silent[$0 * 16 + 6] == 0 })
    }

    @Test("per-matrix, per-row and N:M masks equal the reference exactly (ties to the lower column)")
    func masks() throws {
        for (index, layer) in Self.layers.enumerated() {
            let scores = layer.referenceScores(a: 0.5)
            for sparsity in [0.5, 0.3, 0.7] {
                let matrix = try run(try PruneMethod.ria(sparsity: sparsity), on: layer)
                #expect(
                    matrix.mask == Reference.matrix(scores, sparsity: sparsity), "layer \(index) matrix \(sparsity)")
                let row = try run(try PruneMethod.ria(sparsity: sparsity, scope: .row), on: layer)
                #expect(
                    row.mask == Reference.row(scores, columns: layer.columns, sparsity: sparsity),
                    "layer \(index) row \(sparsity)")
            }
            for (keep, group) in [(2, 4), (1, 4), (3, 4), (4, 8)] where layer.columns % group == 0 {
                let work = try run(
                    try PruneMethod.ria(sparsity: nil, pattern: .nm(keep: keep, group: group)), on: layer)
                #expect(
                    work.mask == Reference.groups(scores, keep: keep, group: group), "layer \(index) \(keep):\(group)")
            }
        }
    }

    @Test("the method lists allocator, criterion and the chosen selector")
    func composition() throws {
        let names = { (steps: [any PruneStep]) in steps.map(\.name) }
        #expect(names(try PruneMethod.ria(sparsity: 0.5))[1...] == ["ria", "per-matrix"])
        #expect(names(try PruneMethod.ria(sparsity: 0.5, scope: .row))[1...] == ["ria", "per-row"])
        #expect(names(try PruneMethod.ria(sparsity: nil, pattern: .nm(keep: 2, group: 4)))[1...] == ["ria", "2:4"])
        let permuted = try PruneMethod.ria(sparsity: 0.5, pattern: .nm(keep: 2, group: 4), permute: true)
        #expect(names(permuted)[1...] == ["ria", "2:4-permuted"])
        #expect((permuted[2] as? PermutedGroupSelector)?.refine == true)
        let heuristic = try PruneMethod.ria(sparsity: nil, pattern: .nm(keep: 2, group: 4), permute: true, lsa: false)
        #expect((heuristic[2] as? PermutedGroupSelector)?.refine == false)
        #expect((try PruneMethod.ria(sparsity: 0.5, exponent: 0.25)[1] as? RIAScore)?.exponent == 0.25)
    }

    @Test(
        "bad parameters throw clear errors",
        arguments: [
            (Double.nan, SparsityPattern.unstructured, false, Bool?.none, "exponent a must be a finite number"),
            (Double.infinity, .unstructured, false, nil, "exponent a must be a finite number"),
            (-1, .unstructured, false, nil, "exponent a must be a finite number"),
            (0.5, .unstructured, true, nil, "permutation needs an N:M pattern"),
            (0.5, .nm(keep: 2, group: 4), false, true, "needs permute = true"),
            (0.5, .nm(keep: 4, group: 4), true, nil, "0 < N < M"),
        ])
    func badParameters(a: Double, pattern: SparsityPattern, permute: Bool, lsa: Bool?, message: String) {
        let sparsity: Double? = pattern == .unstructured ? 0.5 : nil
        #expect {
            _ = try PruneMethod.ria(sparsity: sparsity, pattern: pattern, exponent: a, permute: permute, lsa: lsa)
        } throws: { ($0 as? PruneError)?.message.contains(message) == true }
    }

    @Test("the criterion refuses missing statistics and non-finite weights, naming the tensor")
    func badInput() throws {
        let layer = Self.layers[0]
        let bare = MatrixWork(
            name: "blk.0.ffn_up.weight", layer: 0, part: .up, rows: layer.rows, columns: layer.columns,
            weights: TensorStorage(layer.weights), statistics: nil)
        #expect { try RIAScore().run(bare) } throws: { "\($0)".contains("blk.0.ffn_up.weight") }
        var weights = layer.weights
        weights[5] = .infinity
        let broken = MatrixWork(
            name: "blk.0.ffn_up.weight", layer: 0, part: .up, rows: layer.rows, columns: layer.columns,
            weights: TensorStorage(weights), statistics: layer.statistics)
        #expect { try RIAScore().run(broken) } throws: {
            "\($0)".contains("blk.0.ffn_up.weight: RIA found a non-finite weight in column 5")
        }
    }
}
