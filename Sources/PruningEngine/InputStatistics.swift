import CBLAS
import Kernels
import ModelIO

/// Calibration statistics of one linear input (one of a layer's four distinct inputs), each a
/// running average over sequences as in the reference code: after sequence n (1-based) of T
/// tokens, `s ← s·(n−1)/n + (per-sequence sum)/n`.
public final class InputStatistics: @unchecked Sendable {
    // @unchecked Sendable: mutated only by the engine while it accumulates, read-only afterwards.

    /// Input width (the matrix's input dimension).
    public let columns: Int
    /// What is gathered.
    public let requirement: StatisticsRequirement
    /// Sequences seen.
    public private(set) var sequences = 0
    /// Tokens seen.
    public private(set) var tokens = 0
    /// `scaler_row[j]`: running average over sequences of Σ_t x_tj² (empty unless `.squaredNorms`).
    public private(set) var squaredNorms: [Float]
    /// Running average over sequences of Σ_t x_tj (seqlen × mean; empty unless `.moments`).
    public private(set) var sums: [Float]
    /// Token-weighted average of the per-sequence population variances (empty unless `.moments`).
    public private(set) var variances: [Float]
    /// `H = (2/n_seq) Σ XᵀX`, `columns × columns` row-major, upper triangle only (nil unless `.gram`).
    public let gram: TensorStorage?

    private var sequenceSums: [Float]
    private var sequenceSquares: [Float]

    /// Empty accumulators of `requirement` for inputs of width `columns`.
    public init(columns: Int, requirement: StatisticsRequirement) {
        self.columns = columns
        self.requirement = requirement
        let needsSquares = !requirement.isDisjoint(with: [.squaredNorms, .moments])
        squaredNorms = requirement.contains(.squaredNorms) ? [Float](repeating: 0, count: columns) : []
        sums = requirement.contains(.moments) ? [Float](repeating: 0, count: columns) : []
        variances = sums
        gram = requirement.contains(.gram) ? TensorStorage(zeros: columns * columns) : nil
        sequenceSums = requirement.contains(.moments) ? [Float](repeating: 0, count: columns) : []
        sequenceSquares = needsSquares ? [Float](repeating: 0, count: columns) : []
    }

    /// Statistics given rather than accumulated: `squaredNorms` per column (e.g. an importance
    /// matrix's mean x², see `Pruner`), over `sequences` sequences of `tokens` tokens in all.
    package init(squaredNorms: [Float], sequences: Int, tokens: Int) {
        columns = squaredNorms.count
        requirement = .squaredNorms
        self.squaredNorms = squaredNorms
        self.sequences = sequences
        self.tokens = tokens
        sums = []
        variances = []
        gram = nil
        sequenceSums = []
        sequenceSquares = []
    }

    /// Adds one sequence: `rows × columns` values, row-major.
    public func accumulate(_ values: UnsafeBufferPointer<Float>) {
        let rows = values.count / columns
        let previous = sequences
        sequences += 1
        tokens += rows
        let keep = Float(previous) / Float(sequences)
        let x = values.baseAddress!
        if !sequenceSquares.isEmpty {
            for j in 0..<columns { sequenceSquares[j] = 0 }
            if !sequenceSums.isEmpty { for j in 0..<columns { sequenceSums[j] = 0 } }
            sequenceSquares.withUnsafeMutableBufferPointer { squares in
                if sequenceSums.isEmpty {
                    shears_prune_column_moments(x, rows, columns, columns, nil, squares.baseAddress!)
                } else {
                    sequenceSums.withUnsafeMutableBufferPointer { sums in
                        shears_prune_column_moments(x, rows, columns, columns, sums.baseAddress!, squares.baseAddress!)
                    }
                }
            }
        }
        let n = Float(sequences)
        if !squaredNorms.isEmpty {
            for j in 0..<columns { squaredNorms[j] = squaredNorms[j] * keep + sequenceSquares[j] / n }
        }
        if !sums.isEmpty {
            let weight = Float(rows) / Float(tokens)
            for j in 0..<columns {
                let mean = sequenceSums[j] / Float(rows)
                let variance = max(0, sequenceSquares[j] / Float(rows) - mean * mean)
                sums[j] = sums[j] * keep + sequenceSums[j] / n
                variances[j] += (variance - variances[j]) * weight
            }
        }
        if let gram {
            cblas_ssyrk(
                CblasRowMajor, CblasUpper, CblasTrans, Int32(columns), Int32(rows), 2 / n, x,
                Int32(columns), keep, gram.buffer.baseAddress!, Int32(columns))
        }
    }
}
