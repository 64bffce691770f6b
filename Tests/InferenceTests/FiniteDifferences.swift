import TestSupport

/// Central finite differences in Double, the yardstick of the backward pass.
enum FiniteDifferences {
    /// The step: small enough that the O(step²) truncation error stays below 1e-9 relative for
    /// the smooth, O(1)-scaled functions of the tests, large enough that Double rounding
    /// (≈1e-16 / step) stays below 1e-10.
    static let step = 1e-5

    /// `∂f/∂x[index]` by `(f(x + h·e) − f(x − h·e)) / 2h`.
    static func derivative(_ f: ([Double]) -> Double, at x: [Double], index: Int) -> Double {
        var plus = x, minus = x
        plus[index] += step
        minus[index] -= step
        return (f(plus) - f(minus)) / (2 * step)
    }

    /// The entries to check: all when there are at most `count`, else the largest analytic
    /// entry and `count − 1` random ones.
    static func sample(_ analytic: [Float], count: Int, rng: inout SplitMix64) -> [Int] {
        guard analytic.count > count else { return Array(analytic.indices) }
        let largest = analytic.indices.max { abs(analytic[$0]) < abs(analytic[$1]) }!
        return [largest] + (1..<count).map { _ in Int(rng.next() % UInt64(analytic.count)) }
    }

    /// The worst `|finite difference − analytic|` over the sampled entries, relative to the
    /// largest analytic magnitude of the tensor. The analytic side is Float32, so its rounding
    /// dominates: measured worst values are 1e-7 to 6e-7, and the tests allow 2 to 10 times that.
    static func worstError(
        analytic: [Float], of f: ([Double]) -> Double, at x: [Double], count: Int = 40, seed: UInt64 = 7
    ) -> Double {
        var rng = SplitMix64(seed: seed)
        let scale = Double(analytic.map { abs($0) }.max() ?? 0)
        precondition(scale > 0, "an all-zero gradient checks nothing")
        return sample(analytic, count: count, rng: &rng).map { index in
            abs(derivative(f, at: x, index: index) - Double(analytic[index])) / scale
        }.max() ?? 0
    }

    /// `count` uniform values in ±`scale`, as Float (exactly representable in both precisions).
    static func random(_ count: Int, scale: Float = 1, rng: inout SplitMix64) -> [Float] {
        (0..<count).map { _ in (rng.nextUnitFloat() * 2 - 1) * scale }
    }
}
