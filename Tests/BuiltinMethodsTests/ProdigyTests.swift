import BuiltinMethods
import Foundation
import TestSupport
import Testing

/// `Prodigy` against a literal transcription of the reference's `optimizers/prodigy.py` step
/// (BESA's settings: one group, decoupled, weight decay 0, no bias correction, no safeguard
/// warm-up, growth ∞), on a toy quadratic split into two parameter tensors as the reference
/// sees a block's logits: every state variable after every step.
@Suite struct ProdigyTests {
    /// The reference's state and step, line by line (tensors as Float arrays, Python floats as Double).
    struct Reference {
        var d = 1e-6, dMax = 1e-6, dNumerator = 0.0, dDenom = 0.0
        let d0 = 1e-6, lr: Double, dCoef: Double, beta1 = 0.9, beta2 = 0.999, eps = 1e-8
        var p: [[Float]], p0: [[Float]], s: [[Float]], expAvg: [[Float]], expAvgSq: [[Float]]

        init(_ parameters: [[Float]], lr: Double, dCoef: Double) {
            self.lr = lr
            self.dCoef = dCoef
            p = parameters
            p0 = parameters
            s = parameters.map { [Float](repeating: 0, count: $0.count) }
            expAvg = s
            expAvgSq = s
        }

        mutating func step(_ grads: [[Float]]) {
            var dDenom = 0.0
            let beta3 = beta2.squareRoot()
            var d = self.d
            var dMax = self.dMax
            let dlr = d * lr * 1 // bias_correction = 1
            var dNumerator = self.dNumerator
            dNumerator *= beta3
            for (index, grad) in grads.enumerated() {
                // d_numerator += (d / d0) * dlr * torch.dot(grad, p0 - p).item()
                // (torch reduces in Float in an unspecified order; both sides here accumulate in Double)
                var dot = 0.0
                for i in grad.indices { dot += Double(grad[i]) * Double(p0[index][i] - p[index][i]) }
                dNumerator += (d / d0) * dlr * dot
                // exp_avg.mul_(beta1).add_(grad, alpha=d * (1 - beta1)), exp_avg_sq likewise
                for i in grad.indices {
                    expAvg[index][i] = expAvg[index][i] * Float(beta1) + Float(d * (1 - beta1)) * grad[i]
                    expAvgSq[index][i] =
                        expAvgSq[index][i] * Float(beta2) + Float(d * d * (1 - beta2)) * grad[i] * grad[i]
                    s[index][i] = s[index][i] * Float(beta3) + Float((d / d0) * dlr) * grad[i]
                }
                var total = 0.0
                for value in s[index] { total += Double(abs(value)) }
                dDenom += total
            }
            if dDenom == 0 { return }
            let dHat = dCoef * dNumerator / dDenom
            if d == d0 { d = max(d, dHat) }
            dMax = max(dMax, dHat)
            d = min(dMax, d * .infinity)
            self.dNumerator = dNumerator
            self.dDenom = dDenom
            self.d = d
            self.dMax = dMax
            for index in p.indices {
                for i in p[index].indices {
                    let denom = expAvgSq[index][i].squareRoot() + Float(d * eps)
                    p[index][i] = p[index][i] + Float(-dlr) * expAvg[index][i] / denom
                }
            }
        }
    }

    @Test("every state variable after every step equals the reference transcription", arguments: [1.0, 5.0])
    func transcription(dCoef: Double) throws {
        var rng = SplitMix64(seed: 11)
        let curvature = (0..<12).map { _ in 0.2 + 2 * rng.nextUnitFloat() }
        let optimum = (0..<12).map { _ in rng.nextUnitFloat() * 4 - 2 }
        let start = (0..<12).map { _ in rng.nextUnitFloat() - 0.5 }
        var x = start
        var prodigy = Prodigy(initial: start, lr: 1, dCoefficient: dCoef)
        var reference = Reference([Array(start[0..<7]), Array(start[7..<12])], lr: 1, dCoef: dCoef)
        func gradient(_ x: [Float]) -> [Float] { (0..<x.count).map { curvature[$0] * (x[$0] - optimum[$0]) } }
        // A zero gradient first: Σ|s| = 0, so neither optimiser moves.
        prodigy.step(&x, gradient: [Float](repeating: 0, count: 12))
        reference.step([[Float](repeating: 0, count: 7), [Float](repeating: 0, count: 5)])
        #expect(x == start && prodigy.d == 1e-6)
        for step in 0..<60 {
            let g = gradient(x)
            prodigy.step(&x, gradient: g)
            reference.step([Array(g[0..<7]), Array(g[7..<12])])
            let flat = { (a: [[Float]]) in a.flatMap { $0 } }
            func close(_ a: Double, _ b: Double) -> Bool { abs(a - b) <= 1e-12 * max(abs(a), abs(b), 1e-300) }
            func close(_ a: [Float], _ b: [Float]) -> Bool {
                zip(a, b).allSatisfy { abs($0 - $1) <= 1e-6 * max(abs($0), abs($1), 1e-30) }
            }
            #expect(close(prodigy.d, reference.d), "step \(step): d \(prodigy.d) vs \(reference.d)")
            #expect(close(prodigy.dMax, reference.dMax), "step \(step): d_max")
            #expect(close(prodigy.numerator, reference.dNumerator), "step \(step): numerator")
            #expect(close(prodigy.denominator, reference.dDenom), "step \(step): denominator")
            #expect(close(prodigy.m, flat(reference.expAvg)), "step \(step): exp_avg")
            #expect(close(prodigy.v, flat(reference.expAvgSq)), "step \(step): exp_avg_sq")
            #expect(close(prodigy.s, flat(reference.s)), "step \(step): s")
            #expect(close(x, flat(reference.p)), "step \(step): parameters")
            #expect(prodigy.x0 == start)
        }
        // It optimises: the quadratic is far lower than at the start.
        func f(_ x: [Float]) -> Float { (0..<12).reduce(0) { $0 + curvature[$1] * pow(x[$1] - optimum[$1], 2) / 2 } }
        #expect(f(x) < 0.1 * f(start))
    }
}
