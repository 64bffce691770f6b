import BuiltinMethods
import PruningEngine
import SeededRandom
import Testing

/// The ridge fit of SCOP's `regression` estimator: the normal equations hold in both of its forms
/// (more swap sets than units, and fewer), and an exactly linear response is recovered.
@Suite struct SCOPRegressionFitTests {
    /// Random swap indicators (each 1 with probability 0.3), `rows × columns` row-major.
    static func indicators(rows: Int, columns: Int, seed: UInt64) -> [Double] {
        var random = SplitMix64(seed: seed)
        return (0..<(rows * columns)).map { _ in random.unit() < 0.3 ? 1 : 0 }
    }

    /// `(ZᵀZ + λI)α − Zᵀℓ`, the normal equations' residual, with λ as the fit sets it.
    static func residual(
        _ z: [Double], rows: Int, columns: Int, _ targets: [Double], _ alpha: [Double], ridge: Double
    )
        -> Double
    {
        var gram = [Double](repeating: 0, count: columns * columns)
        for r in 0..<rows {
            for i in 0..<columns where z[r * columns + i] != 0 {
                for j in 0..<columns { gram[i * columns + j] += z[r * columns + i] * z[r * columns + j] }
            }
        }
        let lambda = ridge * (0..<columns).reduce(0.0) { $0 + gram[$1 * columns + $1] } / Double(columns)
        var worst = 0.0
        for i in 0..<columns {
            var left = lambda * alpha[i], right = 0.0
            for j in 0..<columns { left += gram[i * columns + j] * alpha[j] }
            for r in 0..<rows { right += z[r * columns + i] * targets[r] }
            worst = max(worst, abs(left - right))
        }
        return worst
    }

    @Test("an exactly linear response is recovered from more swap sets than units")
    func recoversLinear() throws {
        let rows = 80, columns = 12
        let z = Self.indicators(rows: rows, columns: columns, seed: 3)
        let truth = (0..<columns).map { Double($0 % 5) * 0.1 - 0.1 }
        let targets = (0..<rows).map { r in (0..<columns).reduce(0.0) { $0 + z[r * columns + $1] * truth[$1] } }
        let alpha = try SCOPRegressionEstimate.ridgeFit(
            z, rows: rows, columns: columns, targets: targets, ridge: 1e-9)
        #expect(zip(alpha, truth).allSatisfy { abs($0 - $1) < 1e-6 }, "\(alpha)")
    }

    @Test("the normal equations hold with more swap sets than units and with fewer", arguments: [(40, 9), (7, 30)])
    func normalEquations(_ shape: (rows: Int, columns: Int)) throws {
        let z = Self.indicators(rows: shape.rows, columns: shape.columns, seed: 5)
        var random = SplitMix64(seed: 9)
        let targets = (0..<shape.rows).map { _ in random.unit() - 0.3 }
        let alpha = try SCOPRegressionEstimate.ridgeFit(
            z, rows: shape.rows, columns: shape.columns, targets: targets, ridge: 0.05)
        let worst = Self.residual(z, rows: shape.rows, columns: shape.columns, targets, alpha, ridge: 0.05)
        #expect(worst < 1e-9, "largest residual \(worst)")
    }

    @Test("without a ridge, collinear swap sets are refused with a clear message")
    func collinear() {
        // Two identical columns, each a single 1: ZᵀZ's second pivot is exactly 1 − 1 = 0.
        let z: [Double] = [1, 1, 0, 0, 0, 1, 0, 0, 1, 0, 0, 1]
        #expect {
            _ = try SCOPRegressionEstimate.ridgeFit(z, rows: 4, columns: 3, targets: [1, 2, 3, 4], ridge: 0)
        } throws: { ($0 as? PruneError)?.message.contains("not positive definite") ?? false }
    }
}
