import CBLAS

/// The convex quadratic program of SCOP's local estimator (`methods-structured.md` §1.5 A):
/// minimise `uᵀAu` over `0 ≤ u ≤ 1` with the entries of each group summing to that group's
/// count (`u` the share each unit gives away to its knockoff, A symmetric positive
/// semi-definite). Solved by accelerated projected gradient (FISTA with restarts), step `1/L` for
/// `L = 2·λ_max(A)` from power iteration; the projection onto each group's capped simplex
/// `{0 ≤ u ≤ 1, Σu = k}` is `clip(v − τ, 0, 1)` with τ found by bisection.
package struct CappedSimplexQP {
    /// A, `size × size`, row-major (symmetric).
    package let matrix: [Float]
    /// The number of units.
    package let size: Int

    /// - Precondition: `matrix.count == size * size`.
    package init(matrix: [Float], size: Int) {
        precondition(matrix.count == size * size, "CappedSimplexQP: A must be size × size")
        self.matrix = matrix
        self.size = size
    }

    /// The minimiser for `groups` (disjoint index ranges covering the units, each with the sum
    /// its entries must reach, `0 ≤ count ≤ range.count`), after `iterations` steps from the
    /// uniform point.
    package func solve(groups: [(range: Range<Int>, count: Int)], iterations: Int = 300) -> [Double] {
        var u = [Float](repeating: 0, count: size)
        for group in groups where !group.range.isEmpty {
            for i in group.range { u[i] = Float(group.count) / Float(group.range.count) }
        }
        let lipschitz = 2 * largestEigenvalue()
        guard lipschitz > 0, lipschitz.isFinite else { return u.map(Double.init) }
        let step = 1 / lipschitz
        var previous = u, y = u, gradient = [Float](repeating: 0, count: size)
        var momentum: Float = 1
        var objective = value(u)
        for _ in 0..<iterations {
            multiply(y, into: &gradient)
            var next = (0..<size).map { y[$0] - step * 2 * gradient[$0] }
            for group in groups { Self.project(&next, group.range, count: group.count) }
            let nextObjective = value(next)
            if nextObjective > objective {
                // Restart: the momentum overshot.
                momentum = 1
                y = u
                continue
            }
            let nextMomentum = (1 + (1 + 4 * momentum * momentum).squareRoot()) / 2
            let weight = (momentum - 1) / nextMomentum
            previous = u
            u = next
            y = (0..<size).map { u[$0] + weight * (u[$0] - previous[$0]) }
            momentum = nextMomentum
            objective = nextObjective
        }
        return u.map(Double.init)
    }

    /// `uᵀAu`.
    func value(_ u: [Float]) -> Float {
        var product = [Float](repeating: 0, count: size)
        multiply(u, into: &product)
        return zip(u, product).reduce(0) { $0 + $1.0 * $1.1 }
    }

    /// `A·x`.
    private func multiply(_ x: [Float], into result: inout [Float]) {
        cblas_ssymv(CblasRowMajor, CblasUpper, Int32(size), 1, matrix, Int32(size), x, 1, 0, &result, 1)
    }

    /// The largest eigenvalue of A by power iteration (A is PSD), with a 10% margin.
    private func largestEigenvalue() -> Float {
        var x = (0..<size).map { Float(1 + ($0 % 7)) }, y = [Float](repeating: 0, count: size)
        var estimate: Float = 0
        for _ in 0..<60 {
            multiply(x, into: &y)
            let norm = y.reduce(0) { $0 + $1 * $1 }.squareRoot()
            guard norm > 0 else { return 0 }
            estimate = norm / x.reduce(0) { $0 + $1 * $1 }.squareRoot()
            x = y.map { $0 / norm }
        }
        return 1.1 * estimate
    }

    /// Projects `v[range]` onto `{0 ≤ u ≤ 1, Σu = count}`.
    package static func project(_ v: inout [Float], _ range: Range<Int>, count: Int) {
        guard !range.isEmpty else { return }
        let target = Float(count)
        func total(_ tau: Float) -> Float { range.reduce(0) { $0 + min(1, max(0, v[$1] - tau)) } }
        var low = range.map { v[$0] }.min()! - 1, high = range.map { v[$0] }.max()!
        for _ in 0..<60 {
            let middle = (low + high) / 2
            if total(middle) > target { low = middle } else { high = middle }
        }
        let tau = (low + high) / 2
        for i in range { v[i] = min(1, max(0, v[i] - tau)) }
    }
}
