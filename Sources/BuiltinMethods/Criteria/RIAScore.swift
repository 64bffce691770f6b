import Foundation
import PruningEngine

/// Criterion: RIA's relative importance and activations (Zhang et al., ICLR 2024),
/// `(|W_ij| / Σ_r |W_rj| + |W_ij| / Σ_c |W_ic|) · (sqrt(scaler_row_j))^a`.
///
/// Sums and products are computed in Double and rounded to Float once per score. A column (or
/// row) whose absolute sum is 0 holds only zero weights; their relative importance in it is 0
/// (the reference divides 0 by 0 and gets NaN). A zero `scaler_row_j` gives a factor of 0
/// (`0^0 = 1` when `a = 0`, which then ignores the activations as the reference's `ri` method does).
public struct RIAScore: PruneStep {
    /// The exponent `a` applied to the input norm `sqrt(scaler_row_j)` (reference default 0.5).
    public let exponent: Double
    /// "ria".
    public var name: String { "ria" }
    /// Criterion.
    public var stage: PruneStage { .criterion }
    /// Per-column squared norms.
    public var requirement: StatisticsRequirement { .squaredNorms }

    /// Creates the criterion with exponent `a`.
    ///
    /// - Throws: `PruneError` unless `a` is finite and ≥ 0.
    public init(exponent: Double = 0.5) throws(PruneError) {
        guard exponent.isFinite, exponent >= 0 else {
            throw PruneError("RIA exponent a must be a finite number ≥ 0, got \(exponent)")
        }
        self.exponent = exponent
    }

    /// Fills `work.scores`.
    public func run(_ work: MatrixWork) throws(PruneError) {
        let statistics = try work.requireStatistics(.squaredNorms, for: name)
        let rows = work.rows, columns = work.columns
        guard statistics.squaredNorms.count == columns else {
            throw PruneError(
                "\(work.name): RIA got \(statistics.squaredNorms.count) input statistics for \(columns) columns")
        }
        let weights = UnsafeBufferPointer(work.weights.buffer)
        var columnSums = [Double](repeating: 0, count: columns)
        var rowSums = [Double](repeating: 0, count: rows)
        columnSums.withUnsafeMutableBufferPointer { columnSum in
            for r in 0..<rows {
                let row = weights.baseAddress! + r * columns
                var total = 0.0
                for j in 0..<columns {
                    let magnitude = Double(abs(row[j]))
                    columnSum[j] += magnitude
                    total += magnitude
                }
                rowSums[r] = total
            }
        }
        if let column = columnSums.firstIndex(where: { !$0.isFinite }) {
            throw PruneError("\(work.name): RIA found a non-finite weight in column \(column)")
        }
        let factors = statistics.squaredNorms.map { pow(Double($0).squareRoot(), exponent) }
        if let column = factors.firstIndex(where: { !$0.isFinite }) {
            throw PruneError("\(work.name): RIA input statistic of column \(column) is not finite")
        }
        var scores = [Float](repeating: 0, count: rows * columns)
        scores.withUnsafeMutableBufferPointer { out in
            columnSums.withUnsafeBufferPointer { columnSum in
                factors.withUnsafeBufferPointer { factor in
                    for r in 0..<rows {
                        let row = weights.baseAddress! + r * columns, target = out.baseAddress! + r * columns
                        // A zero sum only divides zero weights: dividing by 1 gives them importance 0.
                        let rowSum = rowSums[r] > 0 ? rowSums[r] : 1
                        for j in 0..<columns {
                            let magnitude = Double(abs(row[j]))
                            let columnTotal = columnSum[j] > 0 ? columnSum[j] : 1
                            target[j] = Float((magnitude / columnTotal + magnitude / rowSum) * factor[j])
                        }
                    }
                }
            }
        }
        work.scores = scores
    }
}
