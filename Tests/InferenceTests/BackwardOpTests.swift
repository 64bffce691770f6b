import Foundation
import Inference
import ModelIO
import TestSupport
import Testing

/// Each operation's backward against central finite differences of the Double reference
/// operation, on small random shapes, with the loss `Σ C ⊙ op(x)` for a random cotangent `C`.
@Suite struct BackwardOpTests {
    /// `Σ c ⊙ y`.
    static func dot(_ c: [Float], _ y: [Double]) -> Double { zip(c, y).reduce(0) { $0 + Double($1.0) * $1.1 } }

    /// Rows of `width` Doubles.
    static func rows(_ x: [Double], _ width: Int) -> [[Double]] {
        stride(from: 0, to: x.count, by: width).map { Array(x[$0..<$0 + width]) }
    }

    @Test("linear: input and weight gradients", arguments: [1, 7, 33])
    func linear(rows: Int) {
        var rng = SplitMix64(seed: UInt64(rows))
        let inputs = 9, outputs = 5
        let x = FiniteDifferences.random(rows * inputs, rng: &rng),
            w = FiniteDifferences.random(outputs * inputs, rng: &rng)
        let c = FiniteDifferences.random(rows * outputs, rng: &rng)
        var dx = [Float](repeating: 0, count: x.count), dw = [Float](repeating: 0, count: w.count)
        LinearBackward.inputGradient(c, rows: rows, outputs: outputs, weight: w, inputs: inputs, into: &dx)
        LinearBackward.weightGradient(
            c, rows: rows, outputs: outputs, input: x, inputs: inputs, into: &dw, accumulate: false)
        func loss(_ x: [Double], _ w: [Double]) -> Double {
            Self.dot(c, Self.rows(x, inputs).flatMap { ReferenceForward.matvec(w, $0, outputs: outputs) })
        }
        let xd = x.map(Double.init), wd = w.map(Double.init)
        #expect(FiniteDifferences.worstError(analytic: dx, of: { loss($0, wd) }, at: xd) < 1e-6)
        #expect(FiniteDifferences.worstError(analytic: dw, of: { loss(xd, $0) }, at: wd) < 1e-6)
    }

    @Test("RMSNorm: input and weight gradients", arguments: [1, 7, 33])
    func rmsNorm(rows: Int) {
        var rng = SplitMix64(seed: 100 + UInt64(rows))
        let n = 24
        let x = FiniteDifferences.random(rows * n, rng: &rng)
        let gamma = FiniteDifferences.random(n, rng: &rng).map { 1 + 0.3 * $0 }
        let c = FiniteDifferences.random(rows * n, rng: &rng)
        var dx = [Float](repeating: 0, count: x.count), dg = [Float](repeating: 0, count: n)
        RMSNormBackward.backward(
            x: x, weight: gamma, outputGradient: c, rows: rows, n: n, epsilon: 1e-5, addingInputGradientTo: &dx,
            addingWeightGradientTo: &dg)
        func loss(_ x: [Double], _ g: [Double]) -> Double {
            Self.dot(c, Self.rows(x, n).flatMap { ReferenceForward.rmsNorm($0, g, epsilon: 1e-5) })
        }
        let xd = x.map(Double.init), gd = gamma.map(Double.init)
        let inputError = FiniteDifferences.worstError(analytic: dx, of: { loss($0, gd) }, at: xd)
        let weightError = FiniteDifferences.worstError(analytic: dg, of: { loss(xd, $0) }, at: gd)
        #expect(inputError < 1e-6, "input: \(inputError)")
        #expect(weightError < 1e-6, "weight: \(weightError)")
    }

    @Test("RoPE: the inverse rotation of the forward kernel's layout", arguments: [1, 7, 33])
    func rope(rows: Int) {
        var rng = SplitMix64(seed: 200 + UInt64(rows))
        let heads = 3, headDim = 8, width = heads * headDim
        let c = FiniteDifferences.random(rows * width, rng: &rng)
        let x = FiniteDifferences.random(rows * width, rng: &rng)
        var dx = c
        RotaryBackward(positions: rows, headDim: headDim, base: 10000).apply(&dx, rows: rows, heads: heads)
        func loss(_ x: [Double]) -> Double {
            Self.dot(
                c,
                Self.rows(x, width).enumerated().flatMap { position, row in
                    var row = row
                    ReferenceForward.rope(&row, heads: heads, headDim: headDim, base: 10000, position: position)
                    return row
                })
        }
        let error = FiniteDifferences.worstError(analytic: dx, of: loss, at: x.map(Double.init))
        #expect(error < 1e-6, "\(error)")
    }

    @Test("SwiGLU: gate and up gradients")
    func swiGLU() {
        var rng = SplitMix64(seed: 300)
        let n = 64
        let gate = FiniteDifferences.random(n, scale: 4, rng: &rng), up = FiniteDifferences.random(n, rng: &rng)
        let c = FiniteDifferences.random(n, rng: &rng)
        var dGate = c, dUp = [Float](repeating: 0, count: n)
        SwiGLUBackward.backward(gate: gate, up: up, gradient: &dGate, upGradient: &dUp, count: n)
        let gd = gate.map(Double.init), ud = up.map(Double.init)
        let gateError = FiniteDifferences.worstError(
            analytic: dGate, of: { Self.dot(c, ReferenceForward.swiGLU($0, ud)) }, at: gd, count: n)
        let upError = FiniteDifferences.worstError(
            analytic: dUp, of: { Self.dot(c, ReferenceForward.swiGLU(gd, $0)) }, at: ud, count: n)
        #expect(gateError < 1e-6, "gate: \(gateError)")
        #expect(upError < 1e-6, "up: \(upError)")
    }

    /// (query heads, KV heads, rows): GQA ratios 1, 3 and 4, odd head counts, 1, 7 and 33 rows.
    static let attentionShapes = [(3, 3, 1), (3, 1, 7), (4, 1, 33), (5, 5, 7), (6, 2, 33), (3, 1, 33), (4, 1, 1)]

    @Test("causal GQA attention: query, key and value gradients", arguments: attentionShapes)
    func attention(shape: (Int, Int, Int)) {
        let (heads, kvHeads, rows) = shape
        let headDim = 8, queryWidth = heads * headDim, kvWidth = kvHeads * headDim
        var rng = SplitMix64(seed: UInt64(1000 * heads + 100 * kvHeads + rows))
        let q = FiniteDifferences.random(rows * queryWidth, scale: 2, rng: &rng)
        let k = FiniteDifferences.random(rows * kvWidth, scale: 2, rng: &rng)
        let v = FiniteDifferences.random(rows * kvWidth, rng: &rng)
        let c = FiniteDifferences.random(rows * queryWidth, rng: &rng)
        func attend(_ q: [Double], _ k: [Double], _ v: [Double]) -> [Double] {
            ReferenceForward.attention(
                queries: Self.rows(q, queryWidth), keys: Self.rows(k, kvWidth), values: Self.rows(v, kvWidth),
                heads: heads, kvHeads: kvHeads, headDim: headDim
            ).flatMap { $0 }
        }
        let qd = q.map(Double.init), kd = k.map(Double.init), vd = v.map(Double.init)
        let attended = attend(qd, kd, vd).map(Float.init)
        var dq = [Float](repeating: 0, count: q.count), dk = [Float](repeating: 0, count: k.count)
        var dv = [Float](repeating: 0, count: v.count)
        // Blocks of 8 query rows, so that 33 rows span five blocks (one partial).
        AttentionBackward(headDim: headDim, capacity: rows, block: 8).run(
            heads: heads, kvHeads: kvHeads, rows: rows, queries: q, keys: k, values: v, attended: attended,
            attendedGradient: c, queryGradient: &dq, keyGradient: &dk, valueGradient: &dv)
        let queryError = FiniteDifferences.worstError(analytic: dq, of: { Self.dot(c, attend($0, kd, vd)) }, at: qd)
        let keyError = FiniteDifferences.worstError(analytic: dk, of: { Self.dot(c, attend(qd, $0, vd)) }, at: kd)
        let valueError = FiniteDifferences.worstError(analytic: dv, of: { Self.dot(c, attend(qd, kd, $0)) }, at: vd)
        // A single row attends only to itself: the probabilities are constant and dq, dk vanish
        // up to the Float rounding of dP − rowsum(dO ⊙ O) (two equal sums of 8 products).
        if rows > 1 {
            #expect(queryError < 2e-6, "q: \(queryError)")
            #expect(keyError < 2e-6, "k: \(keyError)")
        } else {
            #expect(dq.allSatisfy { abs($0) < 1e-5 } && dk.allSatisfy { abs($0) < 1e-5 })
        }
        #expect(valueError < 2e-6, "v: \(valueError)")
    }

    @Test("final norm, output projection and blockwise cross-entropy", arguments: [2, 7, 33, 300])
    func loss(rows: Int) {
        let hidden = 16, vocab = 300
        var config = TinyModel.config
        config.hiddenSize = hidden
        config.vocabSize = vocab
        var rng = SplitMix64(seed: 400 + UInt64(rows))
        let states = FiniteDifferences.random(rows * hidden, scale: 2, rng: &rng)
        let norm = FiniteDifferences.random(hidden, rng: &rng).map { 1 + 0.2 * $0 }
        let output = FiniteDifferences.random(vocab * hidden, scale: 0.5, rng: &rng)
        let tokens = (0..<rows).map { _ in Int32(rng.next() % UInt64(vocab)) }
        let scale = 1 / Float(rows - 1)
        var dStates = [Float](repeating: 0, count: states.count), dOutput = [Float](repeating: 0, count: output.count)
        var dNorm = [Float](repeating: 0, count: hidden)
        let nll = LossBackward(config: config, capacity: rows).run(
            states: states, rows: rows, tokens: tokens, scale: scale, outputWeight: output, normWeight: norm,
            stateGradient: &dStates, outputGradient: &dOutput, accumulate: false, normGradient: &dNorm)
        func loss(_ s: [Double], _ n: [Double], _ o: [Double]) -> Double {
            let logits = Self.rows(s, hidden).map {
                ReferenceForward.matvec(o, ReferenceForward.rmsNorm($0, n, epsilon: 1e-5), outputs: vocab)
            }
            return ReferenceForward.negativeLogLikelihoods(logits: logits, tokens: tokens).reduce(0, +)
                * Double(scale)
        }
        let sd = states.map(Double.init), nd = norm.map(Double.init), od = output.map(Double.init)
        #expect(abs(nll * Double(scale) - loss(sd, nd, od)) < 1e-5)
        let stateError = FiniteDifferences.worstError(analytic: dStates, of: { loss($0, nd, od) }, at: sd, count: 24)
        let normError = FiniteDifferences.worstError(analytic: dNorm, of: { loss(sd, $0, od) }, at: nd, count: 24)
        let outputError = FiniteDifferences.worstError(analytic: dOutput, of: { loss(sd, nd, $0) }, at: od, count: 24)
        #expect(stateError < 5e-6, "states: \(stateError)")
        #expect(normError < 5e-6, "norm: \(normError)")
        #expect(outputError < 5e-6, "output: \(outputError)")
    }
}
