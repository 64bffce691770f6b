/// Prodigy (Mishchenko & Defazio), as BESA's `optimizers/prodigy.py` implements it with BESA's
/// settings: one parameter group, decoupled weight decay 0, no bias correction, no safeguard
/// warm-up, unbounded growth. The parameters are one flat vector (all of a block's logits).
///
/// State: the step-size estimate `d` (from `d0`), its running maximum, the numerator, and per
/// parameter the moments `m`, `v`, the sum `s` and the initial values `x0`. Each `step`:
/// `dlr = d·lr`; `num = β3·num + (d/d0)·dlr·⟨g, x0 − x⟩`; `m = β1·m + d(1−β1)·g`;
/// `v = β2·v + d²(1−β2)·g²`; `s = β3·s + (d/d0)·dlr·g`; `d̂ = d_coef·num/Σ|s|` (no step when
/// `Σ|s| = 0`); `d = max(d, d̂)` while `d = d0`, `d_max = max(d_max, d̂)`,
/// `d = min(d_max, d·∞) = d_max`; then `x −= dlr·m/(√v + d·ε)` with the old `dlr` and the new `d`.
package struct Prodigy: LogitOptimizer {
    /// The learning-rate multiplier (1 in BESA).
    package let lr: Double
    /// The coefficient of the `d` estimate (BESA's `--d-coef`).
    package let dCoefficient: Double
    /// Adam's moment coefficients and Prodigy's `β3 = √β2`.
    package let beta1 = 0.9, beta2 = 0.999
    /// `√β2`.
    package var beta3: Double { beta2.squareRoot() }
    /// The denominator's ε (scaled by `d`).
    package let epsilon = 1e-8
    /// The initial `d`.
    package let d0 = 1e-6

    /// The step-size estimate.
    package private(set) var d: Double
    /// The largest estimate so far.
    package private(set) var dMax: Double
    /// The running numerator of the estimate.
    package private(set) var numerator = 0.0
    /// The denominator of the last step (`Σ|s|`).
    package private(set) var denominator = 0.0
    /// The first moments.
    package private(set) var m: [Float]
    /// The second moments.
    package private(set) var v: [Float]
    /// The weighted gradient sums.
    package private(set) var s: [Float]
    /// The parameters at the first step.
    package private(set) var x0: [Float]

    /// A fresh optimiser for `count` parameters starting at `initial`.
    package init(initial: [Float], lr: Double, dCoefficient: Double) {
        self.lr = lr
        self.dCoefficient = dCoefficient
        d = d0
        dMax = d0
        m = [Float](repeating: 0, count: initial.count)
        v = m
        s = m
        x0 = initial
    }

    /// One step on `x` with gradient `g`.
    package mutating func step(_ x: inout [Float], gradient g: [Float]) {
        precondition(x.count == g.count && x.count == m.count, "Prodigy: parameter count changed")
        let dlr = d * lr
        numerator *= beta3
        var dot = 0.0
        for i in 0..<x.count { dot += Double(g[i]) * Double(x0[i] - x[i]) }
        numerator += (d / d0) * dlr * dot
        let mScale = Float(d * (1 - beta1)), vScale = Float(d * d * (1 - beta2))
        let sScale = Float((d / d0) * dlr), b1 = Float(beta1), b2 = Float(beta2), b3 = Float(beta3)
        var sum = 0.0
        for i in 0..<x.count {
            m[i] = m[i] * b1 + mScale * g[i]
            v[i] = v[i] * b2 + vScale * g[i] * g[i]
            s[i] = s[i] * b3 + sScale * g[i]
            sum += Double(abs(s[i]))
        }
        denominator = sum
        guard sum > 0 else { return }
        let dHat = dCoefficient * numerator / sum
        if d == d0 { d = max(d, dHat) }
        dMax = max(dMax, dHat)
        d = dMax // min(d_max, d·growth) with growth ∞
        let eps = Float(d * epsilon), rate = Float(dlr)
        for i in 0..<x.count { x[i] -= rate * m[i] / (v[i].squareRoot() + eps) }
    }
}
