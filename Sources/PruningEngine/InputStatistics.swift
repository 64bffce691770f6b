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
    /// Whether sequences are kept as records for `combine(across:)` instead of folded in.
    private let distributed: Bool
    /// Per sequence not yet folded in (distributed only): its row count, then its per-column sums
    /// of squares and sums (each present when gathered).
    private var pending: [Float] = []

    /// Empty accumulators of `requirement` for inputs of width `columns`.
    ///
    /// `distributed`: this process holds one shard of the calibration windows (see
    /// `ProcessGroup`); its sequences are kept until `combine(across:)` folds every rank's into
    /// the running averages in window order, and the Gram matrix gathers unscaled sums.
    public init(columns: Int, requirement: StatisticsRequirement, distributed: Bool = false) {
        self.columns = columns
        self.requirement = requirement
        self.distributed = distributed
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
        distributed = false
    }

    /// Adds one sequence: `rows × columns` values, row-major.
    public func accumulate(_ values: UnsafeBufferPointer<Float>) {
        let rows = values.count / columns
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
        if distributed {
            pending.append(Float(rows))
            pending += sequenceSquares
            pending += sequenceSums
            if let gram {
                cblas_ssyrk(
                    CblasRowMajor, CblasUpper, CblasTrans, Int32(columns), Int32(rows), 1, x, Int32(columns), 1,
                    gram.buffer.baseAddress!, Int32(columns))
            }
            return
        }
        let keep = sequenceSquares.withUnsafeBufferPointer { squares in
            sequenceSums.withUnsafeBufferPointer { sums in fold(rows: rows, squares: squares, sums: sums) }
        }
        if let gram {
            cblas_ssyrk(
                CblasRowMajor, CblasUpper, CblasTrans, Int32(columns), Int32(rows), 2 / Float(sequences), x,
                Int32(columns), keep, gram.buffer.baseAddress!, Int32(columns))
        }
    }

    /// Folds every rank's sequences into the running averages, in window order (the ranks'
    /// shards concatenated), with the same arithmetic as one process taking them in turn, so the
    /// per-column statistics are bit-identical to a single-process run; sums the ranks' Gram
    /// matrices in rank order and scales the total by 2/n_seq (equal to a single process's up to
    /// the order of the floating-point additions). Collective: every rank calls it.
    public func combine(across group: any ProcessGroup) {
        precondition(distributed, "combine(across:) needs statistics made with distributed: true")
        let records = group.gather(pending)
        pending = []
        let width = 1 + sequenceSquares.count + sequenceSums.count
        records.withUnsafeBufferPointer { all in
            for start in stride(from: 0, to: all.count, by: width) {
                let squares = UnsafeBufferPointer(rebasing: all[(start + 1)..<(start + 1 + sequenceSquares.count)])
                let sums = UnsafeBufferPointer(rebasing: all[(start + 1 + sequenceSquares.count)..<(start + width)])
                _ = fold(rows: Int(all[start]), squares: squares, sums: sums)
            }
        }
        if let gram, sequences > 0 {
            group.sum(gram.buffer)
            cblas_sscal(Int32(gram.count), 2 / Float(sequences), gram.buffer.baseAddress!, 1)
        }
    }

    /// Folds one sequence of `rows` tokens with per-column sums of squares `squares` and sums
    /// `sums` into the running averages; returns the weight the earlier sequences keep.
    private func fold(
        rows: Int, squares: UnsafeBufferPointer<Float>, sums sequenceSums: UnsafeBufferPointer<Float>
    )
        -> Float
    {
        let previous = sequences
        sequences += 1
        tokens += rows
        let keep = Float(previous) / Float(sequences)
        let n = Float(sequences)
        if !squaredNorms.isEmpty {
            for j in 0..<columns { squaredNorms[j] = squaredNorms[j] * keep + squares[j] / n }
        }
        if !sums.isEmpty {
            let weight = Float(rows) / Float(tokens)
            for j in 0..<columns {
                let mean = sequenceSums[j] / Float(rows)
                let variance = max(0, squares[j] / Float(rows) - mean * mean)
                sums[j] = sums[j] * keep + sequenceSums[j] / n
                variances[j] += (variance - variances[j]) * weight
            }
        }
        return keep
    }
}
