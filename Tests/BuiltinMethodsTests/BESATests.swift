import BuiltinMethods
import Foundation
import Inference
import ModelIO
import PruningEngine
import TestSupport
import Testing

/// BESA (`BESA`, `BESASparsity`, `Prodigy`): the candidate chain and the whole block gradient
/// against finite differences, Prodigy against a line-by-line transcription of the reference's
/// `optimizers/prodigy.py`, convergence to the target on a tiny model, determinism, and the
/// refusals that come before any work.
@Suite struct BESATests {
    /// `softmax(sigmoid(θ))` per group in Double.
    static func probabilities(_ logits: [Double], width: Int) -> [Double] {
        stride(from: 0, to: logits.count, by: width).flatMap { base -> [Double] in
            let u = logits[base..<base + width].map { 1 / (1 + exp(-$0)) }
            let e = u.map { exp($0 - u.max()!) }
            return e.map { $0 / e.reduce(0, +) }
        }
    }

    /// The soft keep-probabilities `q` of every weight (row-major) and the matrix's expected
    /// sparsity, in Double, written from the definition: sorted position `k` of a row is kept by
    /// the candidates with `k ≥ Int(columns·c_i)`.
    static func soft(
        _ logits: [Double], part: BESASparsity, scores: [Float]
    ) -> (keep: [Double], sparsity: Double) {
        let width = part.candidates.count
        let p = probabilities(logits, width: width)
        var keep = [Double](repeating: 0, count: part.rows * part.columns)
        var sparsity = 0.0
        for row in 0..<part.rows {
            let group = part.rowWise ? row * width : 0
            let order = (0..<part.columns).sorted { a, b in
                let x = scores[row * part.columns + a], y = scores[row * part.columns + b]
                return x < y || (x == y && a < b)
            }
            for (k, column) in order.enumerated() {
                var pruned = 0.0
                for i in 0..<width where k < part.cuts[i] { pruned += p[group + i] }
                keep[row * part.columns + column] = 1 - pruned
            }
            for i in 0..<width { sparsity += p[group + i] * Double(part.candidates[i]) / Double(part.rows) }
        }
        return (keep, sparsity)
    }

    @Test(
        "the candidate chain (soft mask, softmax, sigmoid, penalty) against finite differences",
        arguments: [true, false])
    func candidateChain(rowWise: Bool) throws {
        var rng = SplitMix64(seed: 21)
        let rows = 5, columns = 12, width = 11
        let scores = (0..<rows * columns).map { _ in Float(rng.next() % 7) } // ties on purpose
        let part = BESASparsity(rows: rows, columns: columns, scores: scores, candidateCount: width, rowWise: rowWise)
        let logits = (0..<part.logitCount).map { _ in Double(rng.nextUnitFloat() * 4 - 2) }
        let maskGradient = (0..<rows * columns).map { _ in rng.nextUnitFloat() * 2 - 1 }
        let penalty = 0.7
        // φ(θ) = Σ ∂L/∂M ⊙ q(θ) + penalty·s(θ): the linearised loss whose gradient BESA follows.
        func phi(_ theta: [Double]) -> Double {
            let (keep, sparsity) = Self.soft(theta, part: part, scores: scores)
            return zip(keep, maskGradient).reduce(0) { $0 + $1.0 * Double($1.1) } + penalty * sparsity
        }
        let floats = logits.map(Float.init)
        let p = floats.withUnsafeBufferPointer { part.probabilities($0) }
        var analytic = [Float](repeating: 0, count: part.logitCount)
        floats.withUnsafeBufferPointer { theta in
            analytic.withUnsafeMutableBufferPointer { out in
                part.logitGradient(
                    maskGradient: maskGradient, logits: theta, probabilities: p, penalty: penalty, into: out)
            }
        }
        let scale = Double(analytic.map { abs($0) }.max()!)
        var worst = 0.0
        for index in 0..<part.logitCount {
            var plus = logits, minus = logits
            plus[index] += 1e-5
            minus[index] -= 1e-5
            let numeric = (phi(plus) - phi(minus)) / 2e-5
            worst = max(worst, abs(numeric - Double(analytic[index])) / scale)
        }
        // The analytic side is Float32 (probabilities, final products): a few ulps of the scale.
        #expect(worst < 1e-6, "worst relative error \(worst)")
        // The hard mask prunes Int(s·columns) of each row, lowest scores first.
        let counts = part.prunedCounts(part.sparsities(p))
        let mask = part.pruneMask(counts)
        for row in 0..<rows {
            #expect(mask[row * columns..<(row + 1) * columns].reduce(0) { $0 + Int($1) } == counts[row])
        }
    }

    @Test("the gradient of a tiny block's BESA loss with respect to the logits, against finite differences")
    func blockGradient() throws {
        let model = try TinyModel.make()
        let c = model.config, hidden = c.hiddenSize, rows = 10, layer = 1
        var rng = SplitMix64(seed: 3)
        let input = (0..<rows * hidden).map { _ in rng.nextUnitFloat() * 2 - 1 }
        let blocks = try BlockGradients(model: model, capacity: rows)
        let reference = try blocks.run(layer: layer, input: input, rows: rows) { Array(repeating: 0, count: $0.count) }
            .output
        let parts = LinearMatrix.parts.filter { $0.exists(in: c.layers[layer]) }
        var sparsities: [BESASparsity] = [], scores: [[Float]] = [], logits: [[Double]] = []
        for part in parts {
            let tensor = model.tensor(part.name(layer: layer))!
            let s = tensor.storage.array.map { abs($0) }
            let besa = BESASparsity(
                rows: tensor.rows, columns: tensor.columns, scores: s, candidateCount: 21, rowWise: true)
            sparsities.append(besa)
            scores.append(s)
            logits.append((0..<besa.logitCount).map { _ in Double(rng.nextUnitFloat() * 4 - 2) })
        }
        let sizes = parts.map { Double(model.tensor($0.name(layer: layer))!.count) }
        let shares = sizes.map { $0 / sizes.reduce(0, +) }
        let target = 0.5, beta = 5.0
        // Hard masks at θ0; the surrogate forward uses hard + soft(θ) − soft(θ0) (straight-through).
        var hard: [String: [Float]] = [:], soft0: [[Double]] = []
        var probabilities: [[Float]] = [], expected = 0.0
        for (index, part) in parts.enumerated() {
            let floats = logits[index].map(Float.init)
            let p = floats.withUnsafeBufferPointer { sparsities[index].probabilities($0) }
            probabilities.append(p)
            let rowSparsities = sparsities[index].sparsities(p)
            expected += sparsities[index].sparsity(rowSparsities) * shares[index]
            hard[part.name(layer: layer)] = sparsities[index].keepMask(sparsities[index].prunedCounts(rowSparsities))
            soft0.append(Self.soft(logits[index], part: sparsities[index], scores: scores[index]).keep)
        }
        func surrogate(_ theta: [[Double]]) throws -> Double {
            var masks: [String: [Float]] = [:], sparsity = 0.0
            for (index, part) in parts.enumerated() {
                let (keep, s) = Self.soft(theta[index], part: sparsities[index], scores: scores[index])
                let h = hard[part.name(layer: layer)]!
                masks[part.name(layer: layer)] = (0..<h.count).map {
                    Float(Double(h[$0]) + keep[$0] - soft0[index][$0])
                }
                sparsity += s * shares[index]
            }
            var loss = 0.0
            _ = try reference.withUnsafeBufferPointer { r in
                try blocks.run(layer: layer, input: input, rows: rows, masks: masks) { output in
                    loss = BESALoss.reconstruction(output, r, rows: rows, hidden: hidden).loss
                    return Array(repeating: 0, count: output.count)
                }
            }
            return loss + BESALoss.penalty(sparsity, target: target, beta: beta)
        }
        // The analytic gradient, as BESA computes it.
        let result = try reference.withUnsafeBufferPointer { r in
            try blocks.run(layer: layer, input: input, rows: rows, masks: hard) { output in
                BESALoss.reconstruction(output, r, rows: rows, hidden: hidden).seed
            }
        }
        let penalty = BESALoss.penaltyDerivative(expected, target: target, beta: beta)
        var gradient: [[Float]] = []
        for (index, part) in parts.enumerated() {
            var g = [Float](repeating: 0, count: sparsities[index].logitCount)
            let floats = logits[index].map(Float.init)
            floats.withUnsafeBufferPointer { theta in
                g.withUnsafeMutableBufferPointer { out in
                    sparsities[index].logitGradient(
                        maskGradient: result.masks[part.name(layer: layer)]!, logits: theta,
                        probabilities: probabilities[index], penalty: penalty * shares[index], into: out)
                }
            }
            gradient.append(g)
        }
        // Along the gradient: (f(θ + h·d) − f(θ − h·d))/2h = ‖g‖ for the unit direction d = g/‖g‖.
        let norm = gradient.joined().reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
        let h = 1e-2
        let plus = zip(logits, gradient).map { theta, g in zip(theta, g).map { $0 + h * Double($1) / norm } }
        let minus = zip(logits, gradient).map { theta, g in zip(theta, g).map { $0 - h * Double($1) / norm } }
        let numeric = (try surrogate(plus) - surrogate(minus)) / (2 * h)
        #expect(abs(numeric - norm) < 2e-3 * norm, "directional derivative \(numeric) vs ‖g‖ \(norm)")
        // Along single logits with large gradients too.
        let flat = gradient.joined().map { abs($0) }
        let largest = flat.indices.max { flat[$0] < flat[$1] }!
        var offset = largest, matrix = 0
        while offset >= gradient[matrix].count {
            offset -= gradient[matrix].count
            matrix += 1
        }
        var up = logits, down = logits
        up[matrix][offset] += h
        down[matrix][offset] -= h
        let single = (try surrogate(up) - surrogate(down)) / (2 * h)
        let g = Double(gradient[matrix][offset])
        #expect(abs(single - g) < 2e-3 * abs(g), "logit \(largest): \(single) vs \(g)")
    }

    /// Prunes a tiny model (`config`, default `TinyModel.config`) with `steps` on 8 windows of 24
    /// tokens; returns it and the report.
    static func prune(
        _ steps: [any PruneStep], config: LlamaConfig = TinyModel.config, seed: UInt64 = 1
    ) throws -> (Model, PruneReport) {
        let model = try TinyModel.make(config, seed: seed)
        let report = try Pruner(model: model, steps: steps).run(calibration: PrunerTests.windows(8, length: 24))
        return (model, report)
    }

    /// A wider tiny model (128 columns and more per row), so that a row's count `Int(s·columns)`
    /// is within 1/128 of its learned sparsity.
    static let wide = LlamaConfig(
        layerCount: 2, hiddenSize: 128, headCount: 4, kvHeadCount: 2, ffnSize: 256, vocabSize: 300,
        contextLength: 256, ropeTheta: 10000, rmsNormEpsilon: 1e-5, tiedEmbedding: false)

    @Test("the learned sparsities reach the target on a tiny model, differing between rows")
    func convergence() throws {
        for target in [0.5, 0.45] {
            let (_, report) = try Self.prune(try PruneMethod.besa(sparsity: target, epochs: 10), config: Self.wide)
            for layer in report.layers {
                // The penalty is soft and counts truncate: within a percent of the target.
                #expect(abs(layer.sparsity - target) < 0.01, "layer \(layer.layer): \(layer.sparsity) for \(target)")
                let notes = layer.matrices.flatMap(\.notes)
                #expect(notes.contains { $0.hasPrefix("besa block: loss first") })
                #expect(notes.filter { $0.hasPrefix("besa rows:") }.count == layer.matrices.count)
            }
            // Allocated, not uniform: matrices end up at different sparsities.
            let sparsities = report.layers.flatMap(\.matrices).map(\.sparsity)
            #expect(sparsities.max()! - sparsities.min()! > 0.03, "\(sparsities)")
        }
        // softmax(sigmoid(θ)) keeps every probability within a factor e of every other, so a row's
        // expected sparsity stays within [0.376, 0.624] with 101 candidates: 70% is out of reach.
        let (_, high) = try Self.prune(try PruneMethod.besa(sparsity: 0.7, epochs: 10), config: Self.wide)
        for layer in high.layers { #expect(layer.sparsity < 0.624 && layer.sparsity > 0.55, "\(layer.sparsity)") }
    }

    @Test("exact = true corrects each block's pruned count to the target")
    func exactCount() throws {
        let (model, report) = try Self.prune(try PruneMethod.besa(sparsity: 0.6, exact: true))
        for layer in report.layers {
            let total = layer.matrices.reduce(0) { $0 + $1.count }
            #expect(layer.matrices.reduce(0) { $0 + $1.zeros } == Int((0.6 * Double(total)).rounded()))
        }
        _ = model
    }

    @Test("the whole step is deterministic for a fixed thread count, and composes with other criteria and reconstruct")
    func determinism() throws {
        let (first, _) = try Self.prune(try PruneMethod.besa(sparsity: 0.5))
        let (second, _) = try Self.prune(try PruneMethod.besa(sparsity: 0.5))
        for tensor in first.tensors { #expect(tensor.storage.array == second.tensor(tensor.name)!.storage.array) }
        // Magnitude order instead of Wanda's gives other masks; reconstruct refits the kept weights.
        let magnitude: [any PruneStep] = [try UniformSparsity(0.5), MagnitudeScore(), try BESA()]
        let (other, _) = try Self.prune(magnitude)
        #expect(first.tensors.contains { $0.storage.array != other.tensor($0.name)!.storage.array })
        let refit =
            try PruneMethod.besa(sparsity: 0.5)
            + MethodRegistry.reconstruct.makeSteps(
                try MethodRegistry.reconstruct.arguments([:]))
        let (refitted, _) = try Self.prune(refit)
        for tensor in first.tensors where tensor.name.hasPrefix("blk.0.") && tensor.name.hasSuffix("ffn_up.weight") {
            let mine = refitted.tensor(tensor.name)!.storage.array, before = tensor.storage.array
            #expect(zip(mine, before).allSatisfy { ($0 == 0) == ($1 == 0) }, "same mask")
            #expect(mine != before, "kept weights refitted")
        }
    }

    @Test("bad input is refused before any work")
    func badInput() throws {
        func message(_ body: () throws -> Void) -> String {
            do { try body() } catch { return "\(error)" }
            return ""
        }
        #expect(message { _ = try PruneMethod.besa(sparsity: 0) }.contains("(0, 1)"))
        #expect(message { _ = try PruneMethod.besa(sparsity: 1) }.contains("(0, 1)"))
        #expect(message { _ = try BESA(candidates: 1) }.contains("candidates must be at least 2"))
        let model = try TinyModel.make()
        let nm: [any PruneStep] = [
            try UniformSparsity(0.5), WandaScore(), try GroupSelector(.nm(keep: 2, group: 4)), try BESA(),
        ]
        #expect(message { _ = try Pruner(model: model, steps: nm) }.contains("no N:M pattern"))
        let zero: [any PruneStep] = [try UniformSparsity(0), try BESA()]
        #expect(message { _ = try Pruner(model: model, steps: zero) }.contains("(0, 1)"))
        let after: [any PruneStep] = try PruneMethod.besa(sparsity: 0.5) + [WandaScore()]
        #expect(message { _ = try Pruner(model: model, steps: after) }.contains("cannot follow besa"))
        let shrinker: [any PruneStep] = try [UniformSparsity(0.5), LayerStepTests.DropHeads(), BESA()]
        #expect(message { _ = try Pruner(model: model, steps: shrinker) }.contains("prune of its own"))
    }
}
