import Foundation

/// AdamW as `torch.optim.AdamW` computes it (bias-corrected moments, decoupled weight decay),
/// BESA's `--normal-opt` alternative to Prodigy (reference learning rate 1e-2, decay 0).
package struct AdamW: LogitOptimizer {
    /// The learning rate.
    package let lr: Double
    /// The decoupled weight decay.
    package let weightDecay: Double
    /// The moment coefficients.
    package let beta1 = 0.9, beta2 = 0.999
    /// The denominator's ε.
    package let epsilon = 1e-8
    private var m: [Float], v: [Float]
    private var steps = 0

    /// A fresh optimiser for `count` parameters.
    package init(count: Int, lr: Double, weightDecay: Double = 0) {
        self.lr = lr
        self.weightDecay = weightDecay
        m = [Float](repeating: 0, count: count)
        v = m
    }

    /// One step on `x` with gradient `g`.
    package mutating func step(_ x: inout [Float], gradient g: [Float]) {
        precondition(x.count == g.count && x.count == m.count, "AdamW: parameter count changed")
        steps += 1
        let correction1 = 1 - pow(beta1, Double(steps)), correction2 = 1 - pow(beta2, Double(steps))
        let stepSize = Float(lr / correction1), root = Float(correction2.squareRoot())
        let decay = Float(1 - lr * weightDecay), b1 = Float(beta1), b2 = Float(beta2), eps = Float(epsilon)
        for i in 0..<x.count {
            x[i] *= decay
            m[i] = m[i] * b1 + (1 - b1) * g[i]
            v[i] = v[i] * b2 + (1 - b2) * g[i] * g[i]
            x[i] -= stepSize * m[i] / (v[i].squareRoot() / root + eps)
        }
    }
}
