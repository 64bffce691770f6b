import BuiltinMethods
import Foundation
import Inference
import ModelIO
import PruningEngine
import TestSupport
import Testing

/// Acceptance on SmolLM2-135M: perplexities after each method, exact sparsities.
///
/// CI evaluates 4 chunks and compares with the 4-chunk figures measured once; `SHEARS_FULL_EVAL=1`
/// evaluates the 40 acceptance chunks against the acceptance targets. Measured 2026-11-23 with the
/// forward pass merged at 22:53: Wanda 44.9272, SparseGPT 37.8729 (our own figure; its correctness
/// oracle is the textbook OBS test); before that merge dense 20.38398, magnitude 517.0423, Wanda
/// 45.0393, SparseGPT 37.6643. SparseGPT amplifies float rounding in the forward pass (the attention
/// rewrite moved it 0.6%), hence its 2% tolerance.
@Suite(.serialized, .enabled(if: ReferenceData.hasModel && ReferenceData.hasData))
struct SmolLM2PruneTests {
    /// (4-chunk figure measured once, 40-chunk acceptance target, relative tolerance).
    struct Expected {
        let subset: Double, full: Double, tolerance: Double
        func check(_ perplexity: Double, _ label: String) {
            let target = SmolLM2Fixtures.fullEvaluation ? full : subset
            print("\(label): perplexity \(perplexity) (\(SmolLM2Fixtures.evaluationChunks) chunks, target \(target))")
            #expect(abs(perplexity / target - 1) <= tolerance, "\(label) perplexity \(perplexity), expected \(target)")
        }
    }

    @Test("dense perplexity")
    func dense() throws {
        let model = try SmolLM2Fixtures.model()
        Expected(subset: 24.1454, full: 20.384, tolerance: 5e-4).check(try SmolLM2Fixtures.perplexity(model), "dense")
    }

    @Test("magnitude 50% per matrix")
    func magnitude() throws {
        let model = try SmolLM2Fixtures.model()
        let report = try Pruner(model: model, steps: try PruneMethod.magnitude(sparsity: 0.5)).run(calibration: [])
        for matrix in report.layers.flatMap(\.matrices) {
            // The reference's ≤ τ rule prunes at least one more than half.
            #expect(matrix.zeros > matrix.count / 2, "\(matrix.name): \(matrix.zeros) zeros")
        }
        #expect(report.layers.count == 30 && report.layers.allSatisfy { $0.matrices.count == 7 })
        print("magnitude: sparsity \(report.sparsity), \(report.seconds) s")
        Expected(subset: 449.689, full: 517.04, tolerance: 0.01).check(
            try SmolLM2Fixtures.perplexity(model), "magnitude")
    }

    @Test("Wanda 50% unstructured")
    func wanda() throws {
        let model = try SmolLM2Fixtures.model()
        let report = try Pruner(model: model, steps: try PruneMethod.wanda(sparsity: 0.5))
            .run(calibration: try SmolLM2Fixtures.calibration())
        for matrix in report.layers.flatMap(\.matrices) {
            #expect(matrix.zeros == matrix.count / 2, "\(matrix.name): \(matrix.zeros) zeros of \(matrix.count)")
        }
        print("wanda: \(report.seconds) s, phases \(report.times)")
        Expected(subset: 53.0776, full: 45.04, tolerance: 0.015).check(try SmolLM2Fixtures.perplexity(model), "wanda")
    }

    /// Q4_1 weights tie often within a group of four; the reference's `torch.topk` resolves ties
    /// its own way (not "lower column first", which gave 1799, 10% off), so this figure checks
    /// the tie order on the whole model. 4-chunk figure measured 2026-12-06.
    @Test("magnitude 2:4 (equal magnitudes resolved as the reference's torch.topk)")
    func magnitudeTwoFour() throws {
        let model = try SmolLM2Fixtures.model()
        let report = try Pruner(
            model: model, steps: try PruneMethod.magnitude(sparsity: nil, pattern: .nm(keep: 2, group: 4))
        )
        .run(calibration: [])
        // At least half: some kept Q4_1 weights are zero already.
        #expect(report.layers.flatMap(\.matrices).allSatisfy { $0.zeros >= $0.count / 2 })
        Expected(subset: 2428.47, full: 1997, tolerance: 0.015).check(
            try SmolLM2Fixtures.perplexity(model), "magnitude 2:4")
    }

    @Test("SparseGPT 50% unstructured")
    func sparseGPT() throws {
        let model = try SmolLM2Fixtures.model()
        let report = try Pruner(model: model, steps: try PruneMethod.sparseGPT(sparsity: 0.5))
            .run(calibration: try SmolLM2Fixtures.calibration())
        for matrix in report.layers.flatMap(\.matrices) {
            #expect(abs(matrix.sparsity - 0.5) < 0.001, "\(matrix.name): sparsity \(matrix.sparsity)")
        }
        print("sparsegpt: \(report.seconds) s, phases \(report.times)")
        Expected(subset: 46.2337, full: 37.873, tolerance: 0.02).check(
            try SmolLM2Fixtures.perplexity(model), "sparsegpt")
    }
}
