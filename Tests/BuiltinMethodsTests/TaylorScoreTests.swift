import BuiltinMethods
import Inference
import ModelIO
import PruningEngine
import Synchronization
import TestSupport
import Testing

/// The Taylor criterion: scores from the dense model's gradient computed once before pruning,
/// LLM-Pruner's first- and second-order element-wise terms, per-row and N:M selection, refusals.
@Suite struct TaylorScoreTests {
    /// Three windows of 24 random ids.
    static let windows: [[Int32]] = (0..<3).map { window in
        var rng = SplitMix64(seed: UInt64(70 + window))
        return (0..<24).map { _ in Int32(rng.next() % UInt64(TinyModel.config.vocabSize)) }
    }

    /// Every linear matrix's dense gradient and Fisher estimate, by name.
    static func denseGradients(_ model: Model) throws -> [String: TensorGradient] {
        var result: [String: TensorGradient] = [:]
        try ModelGradients(model: model).weights(windows: windows, fisher: true) { result[$0.name] = $0 }
        return result
    }

    /// The criterion's scores for every matrix (a recording selector after it keeps them).
    static func scores(order: TaylorScore.Order) throws -> (dense: Model, scores: [String: [Float]]) {
        let dense = try TinyModel.make(seed: 11)
        let model = try TinyModel.make(seed: 11)
        let recorder = ScoreRecorder()
        let steps: [any PruneStep] = try PruneMethod.taylor(sparsity: 0.5, order: order) + [recorder]
        _ = try Pruner(model: model, steps: steps).run(calibration: windows)
        return (dense, recorder.scores.withLock { $0 })
    }

    @Test("order 1 scores |W ⊙ ∂L/∂W| and order 2 |W ⊙ g − ½ W ⊙ F ⊙ W| with the dense model's gradient")
    func scoresFollowLLMPruner() throws {
        for order in TaylorScore.Order.allCases {
            let (dense, scores) = try Self.scores(order: order)
            let gradients = try Self.denseGradients(dense)
            #expect(scores.count == 14)
            for (name, actual) in scores {
                let w = dense.tensor(name)!.storage.array
                let g = gradients[name]!.gradient.array, f = gradients[name]!.squared!.array
                let expected = w.indices.map { i in
                    order == .first ? abs(w[i] * g[i]) : abs(w[i] * g[i] - 0.5 * w[i] * f[i] * w[i])
                }
                let scale = expected.max()!
                let worst = zip(actual, expected).map { abs($0 - $1) }.max()!
                #expect(worst <= 1e-6 * scale, "\(name) order \(order.rawValue): \(worst / scale)")
            }
        }
    }

    @Test("the second-order term changes the ranking: it is not the first order in disguise")
    func secondOrderDiffers() throws {
        let first = try Self.scores(order: .first).scores, second = try Self.scores(order: .second).scores
        let name = "blk.1.ffn_down.weight"
        #expect(first[name]! != second[name]!)
    }

    @Test("per-row 50% and 2:4 masks keep the highest scores")
    func selection() throws {
        let model = try TinyModel.make(seed: 12)
        let dense = try TinyModel.make(seed: 12)
        let gradients = try Self.denseGradients(dense)
        _ = try Pruner(model: model, steps: PruneMethod.taylor(sparsity: 0.5)).run(calibration: Self.windows)
        let name = "blk.0.attn_q.weight"
        let tensor = model.tensor(name)!, w = dense.tensor(name)!.storage.array
        let g = gradients[name]!.gradient.array
        for row in 0..<tensor.rows {
            let range = (row * tensor.columns)..<((row + 1) * tensor.columns)
            let kept = range.filter { tensor.storage.buffer[$0] != 0 }
            let pruned = range.filter { tensor.storage.buffer[$0] == 0 }
            #expect(kept.count == tensor.columns / 2)
            let lowestKept = kept.map { abs(w[$0] * g[$0]) }.min()!
            let highestPruned = pruned.map { abs(w[$0] * g[$0]) }.max()!
            #expect(lowestKept >= highestPruned, "row \(row)")
        }
        let nm = try TinyModel.make(seed: 12)
        _ = try Pruner(model: nm, steps: PruneMethod.taylor(sparsity: nil, pattern: .nm(keep: 2, group: 4)))
            .run(calibration: Self.windows)
        for tensor in nm.tensors where tensor.name.hasPrefix("blk.") && tensor.shape.count == 2 {
            for group in stride(from: 0, to: tensor.count, by: 4) {
                #expect((group..<group + 4).filter { tensor.storage.buffer[$0] != 0 }.count == 2, "\(tensor.name)")
            }
        }
    }

    @Test("without calibration windows, or with a bad order, the chain is refused")
    func refusals() throws {
        let model = try TinyModel.make(seed: 13)
        #expect(throws: PruneError("taylor needs calibration windows for its gradients")) {
            try Pruner(model: model, steps: PruneMethod.taylor(sparsity: 0.5)).run(calibration: [])
        }
        #expect(model.tensor("blk.0.attn_q.weight")!.storage.array.allSatisfy { $0 != 0 })
        let arguments = try MethodRegistry.taylor.arguments(["sparsity": .number(0.5), "order": .integer(3)])
        #expect(throws: PruneError("taylor: order must be 1 or 2, got 3")) {
            try MethodRegistry.taylor.makeSteps(arguments)
        }
    }
}

/// A selector-stage step that records the scores the criterion left.
private final class ScoreRecorder: PruneStep, Sendable {
    let scores = Mutex<[String: [Float]]>([:])
    var name: String { "score-recorder" }
    var stage: PruneStage { .refiner }
    var requirement: StatisticsRequirement { [] }
    func run(_ work: MatrixWork) throws(PruneError) {
        let values = work.scores
        scores.withLock { $0[work.name] = values }
    }
}
