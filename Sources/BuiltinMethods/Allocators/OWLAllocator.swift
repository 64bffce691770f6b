import Foundation
import PruningEngine

/// Allocator: OWL (Yin et al., "Outlier Weighed Layerwise sparsity"), one sparsity per decoder
/// layer from the layer's share of outlier weights in the dense model.
///
/// Survey (dense pre-pass): the layer's outlier ratio
/// `D = 100 · #{a > M · mean(A)} / |A|` over the Wanda scores `A = |W|·sqrt(scaler_row)` of all its
/// targeted matrices together (Float scores and threshold as the reference; the mean summed in
/// Double). Plan, unstructured: `z = (D − min D) · (1/(max D − min D) · λ · 2)`, density
/// `z − mean(z) + (1 − p)`, sparsity `1 − density`, `≤ 0 → 0.01`; every layer gets `p` when all D
/// are equal. N:M (reference `wanda_owl_structure`): `z` with λ not doubled, mean-centred, rounded
/// half to even, and the layer prunes `N − round(z)` of every M (`N` = the pattern's pruned count;
/// 0 leaves the layer dense).
public struct OWLAllocator: ModelSurveyingAllocator {
    /// The overall target p (unstructured), or the pattern's implied sparsity.
    public let sparsity: Double
    /// Unstructured or the base N:M pattern.
    public let pattern: SparsityPattern
    /// The outlier multiplier M (`Hyper_m`; README 5, main.py 3).
    public let outlierMultiplier: Double
    /// The spread λ (`Lamda`, 0.08 unstructured; the README's N:M example uses 2).
    public let lambda: Double
    /// "owl".
    public var name: String { "owl" }
    /// Allocator.
    public var stage: PruneStage { .allocator }
    /// Nothing during the prune proper.
    public var requirement: StatisticsRequirement { [] }
    /// Squared norms for the Wanda scores of the survey.
    public var surveyRequirement: StatisticsRequirement { .squaredNorms }

    /// - Throws: `PruneError` for a sparsity outside [0, 1) (or missing, unstructured), one that
    ///   contradicts the pattern, M not positive and finite, or λ negative or not finite.
    public init(
        sparsity: Double?, pattern: SparsityPattern = .unstructured, outlierMultiplier: Double = 5,
        lambda: Double = 0.08
    ) throws(PruneError) {
        let pattern = try pattern.validated()
        if let implied = pattern.impliedSparsity {
            if let sparsity, abs(sparsity - implied) > 1e-9 {
                throw PruneError("OWL sparsity \(sparsity) contradicts pattern \(pattern) (which implies \(implied))")
            }
            self.sparsity = implied
        } else {
            guard let sparsity else { throw PruneError("OWL needs a sparsity (or an N:M pattern)") }
            guard sparsity >= 0, sparsity < 1 else { throw PruneError("OWL sparsity \(sparsity) is outside [0, 1)") }
            self.sparsity = sparsity
        }
        guard outlierMultiplier.isFinite, outlierMultiplier > 0 else {
            throw PruneError("OWL outlier multiplier M \(outlierMultiplier) must be positive and finite")
        }
        guard lambda.isFinite, lambda >= 0 else { throw PruneError("OWL lambda \(lambda) must be finite and ≥ 0") }
        self.pattern = pattern
        self.outlierMultiplier = outlierMultiplier
        self.lambda = lambda
    }

    /// The layer's outlier ratio D in percent.
    public func measure(_ layer: SurveyedLayer) throws(PruneError) -> Double {
        var sum = 0.0, count = 0
        for matrix in layer.matrices {
            let norms = matrix.statistics.squaredNorms.map { $0.squareRoot() }
            forEachScore(matrix, norms) { sum += Double($0) }
            count += matrix.rows * matrix.columns
        }
        guard count > 0 else { return 0 }
        let limit = Float(sum / Double(count)) * Float(outlierMultiplier)
        var outliers = 0
        for matrix in layer.matrices {
            let norms = matrix.statistics.squaredNorms.map { $0.squareRoot() }
            forEachScore(matrix, norms) { if $0 > limit { outliers += 1 } }
        }
        return 100 * Double(outliers) / Double(count)
    }

    /// Per-layer targets from the outlier ratios.
    ///
    /// - Throws: `PruneError` when a layer would get a sparsity of 1 or more, or an N:M count
    ///   outside `0..<M` (λ too large).
    public func plan(_ measures: [(layer: Int, measure: Double)]) throws(PruneError) -> [LayerTarget] {
        let ratios = measures.map(\.measure)
        guard let low = ratios.min(), let high = ratios.max() else { return [] }
        let doubled = pattern == .unstructured ? 2.0 : 1.0
        var z = ratios.map { high > low ? ($0 - low) * (1 / (high - low) * lambda * doubled) : 0 }
        let mean = z.reduce(0, +) / Double(z.count)
        z = z.map { $0 - mean }
        return try zip(measures, z).map { (entry, shift) throws(PruneError) in
            switch pattern {
            case .unstructured:
                var layerSparsity = 1 - (shift + (1 - sparsity))
                if layerSparsity <= 0 { layerSparsity = 0.01 }
                guard layerSparsity < 1 else {
                    throw PruneError(
                        "OWL gives layer \(entry.layer) sparsity \(layerSparsity) ≥ 1: lower lambda (\(lambda))")
                }
                return LayerTarget(sparsity: layerSparsity, measure: entry.measure)
            case .nm(let keep, let group):
                let pruned = group - keep - Int(shift.rounded(.toNearestOrEven))
                guard pruned >= 0, pruned < group else {
                    throw PruneError(
                        "OWL gives layer \(entry.layer) \(pruned) pruned of \(group), outside 0..<\(group): lower lambda (\(lambda))"
                    )
                }
                if pruned == 0 { return LayerTarget(sparsity: 0, pattern: .unstructured, measure: entry.measure) }
                return LayerTarget(
                    sparsity: Double(pruned) / Double(group), pattern: .nm(keep: group - pruned, group: group),
                    measure: entry.measure)
            }
        }
    }

    /// Sets the matrix's target from its layer's plan.
    public func run(_ work: MatrixWork) throws(PruneError) {
        guard let plan = work.plan else {
            throw PruneError(
                "\(work.name): OWL has no plan for layer \(work.layer) (it needs the engine's survey pass)")
        }
        work.sparsity = plan.sparsity
        work.pattern = plan.pattern
        let ratio = plan.measure.map { String(format: "%.4f", $0) } ?? "-"
        let layout = plan.pattern.map { ", pattern \($0)" } ?? ""
        work.notes.append("owl: outlier ratio \(ratio)%, sparsity \(String(format: "%.6f", plan.sparsity))\(layout)")
    }

    /// Calls `body` with every Wanda score `|W_ij| · norms_j` (Float, as the reference) of `matrix`.
    private func forEachScore(_ matrix: SurveyedMatrix, _ norms: [Float], _ body: (Float) -> Void) {
        let w = matrix.weights.buffer
        norms.withUnsafeBufferPointer { norms in
            for r in 0..<matrix.rows {
                let base = r * matrix.columns
                for j in 0..<matrix.columns { body(abs(w[base + j]) * norms[j]) }
            }
        }
    }
}
