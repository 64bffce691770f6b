import BuiltinMethods
import Foundation
import PruningEngine
import TestSupport
import Testing

/// SCOP's K3 source: Gaussian model-X knockoffs keep the moments they promise, and a unit the
/// others predict gets a near-copy as its knockoff.
@Suite struct GaussianKnockoffTests {
    /// `count` rows of `x = μ + z·Aᵀ + √noise·w`, z and w standard normal, so `Σ = AAᵀ + noise·I`;
    /// with the rows and Σ.
    static func gaussianRows(
        mean: [Double], mixing: [[Double]], noise: Double, count: Int, seed: UInt64
    ) -> (rows: [Float], covariance: [Double]) {
        let d = mean.count, k = mixing[0].count
        var normal = NormalSource(seed: seed)
        var rows = [Float](repeating: 0, count: count * d)
        for r in 0..<count {
            let z = (0..<k).map { _ in normal.next() }
            for i in 0..<d {
                let mixed = (0..<k).reduce(0.0) { $0 + mixing[i][$1] * z[$1] }
                rows[r * d + i] = Float(mean[i] + mixed + noise.squareRoot() * normal.next())
            }
        }
        var covariance = [Double](repeating: 0, count: d * d)
        for i in 0..<d {
            for j in 0..<d {
                covariance[i * d + j] =
                    (0..<k).reduce(0.0) { $0 + mixing[i][$1] * mixing[j][$1] } + (i == j ? noise : 0)
            }
        }
        return (rows, covariance)
    }

    /// The sample cross-covariance of columns of `a` and `b` (`count × d` each).
    static func crossCovariance(_ a: [Float], _ b: [Float], d: Int, count: Int) -> [Double] {
        let n = Double(count)
        let meanA = (0..<d).map { j in (0..<count).reduce(0.0) { $0 + Double(a[$1 * d + j]) } / n }
        let meanB = (0..<d).map { j in (0..<count).reduce(0.0) { $0 + Double(b[$1 * d + j]) } / n }
        var result = [Double](repeating: 0, count: d * d)
        for r in 0..<count {
            for i in 0..<d {
                for j in 0..<d {
                    result[i * d + j] += (Double(a[r * d + i]) - meanA[i]) * (Double(b[r * d + j]) - meanB[j])
                }
            }
        }
        return result.map { $0 / (n - 1) }
    }

    @Test func knockoffMomentsMatchTheKnownCovariance() throws {
        let d = 5, count = 40000
        let mixing: [[Double]] = [
            [1.0, 0.5, 0.0], [0.8, -0.3, 0.2], [0.0, 1.2, 0.4], [0.3, 0.3, 0.9], [-0.5, 0.1, 0.6],
        ]
        let mean = [0.5, -1.0, 2.0, 0.0, 0.25]
        let (rows, sigma) = Self.gaussianRows(mean: mean, mixing: mixing, noise: 0.3, count: count, seed: 7)
        let knockoffs = try GaussianKnockoffs(mean: mean, covariance: sigma)
        #expect(knockoffs.gamma > 0 && knockoffs.gamma <= 1)
        var output = [Float](repeating: 0, count: rows.count)
        var normal = NormalSource(seed: 99)
        knockoffs.sample(rows, rows: count, into: &output, normal: &normal)
        let knockoffCovariance = Self.crossCovariance(output, output, d: d, count: count)
        let cross = Self.crossCovariance(rows, output, d: d, count: count)
        for i in 0..<d {
            let knockoffMean = (0..<count).reduce(0.0) { $0 + Double(output[$1 * d + i]) } / Double(count)
            #expect(abs(knockoffMean - mean[i]) < 5 * (sigma[i * d + i] / Double(count)).squareRoot())
            for j in 0..<d {
                // The standard error of a Gaussian sample covariance entry.
                let error =
                    ((sigma[i * d + i] * sigma[j * d + j] + sigma[i * d + j] * sigma[i * d + j]) / Double(count))
                    .squareRoot()
                #expect(abs(knockoffCovariance[i * d + j] - sigma[i * d + j]) < 5 * error, "Cov(x̃)[\(i),\(j)]")
                let expected = sigma[i * d + j] - (i == j ? knockoffs.scales[i] : 0)
                #expect(abs(cross[i * d + j] - expected) < 5 * error, "Cov(x, x̃)[\(i),\(j)]")
            }
        }
        // The scale keeps 2Σ − D positive semi-definite, and it is the largest that does: γ < 1 binds.
        #expect(knockoffs.scales.allSatisfy { $0 > 0 })
    }

    @Test func aRedundantUnitGetsANearCopy() throws {
        let d = 6, count = 8000
        var (rows, _) = Self.gaussianRows(
            mean: [0, 0, 0, 0, 0, 0], mixing: (0..<d).map { i in (0..<d).map { $0 == i ? 1.0 : 0.2 } }, noise: 0.1,
            count: count, seed: 3)
        var normal = NormalSource(seed: 11)
        // Unit 5 is units 0 and 1 summed (plus a trace of noise).
        for r in 0..<count { rows[r * d + 5] = rows[r * d] + rows[r * d + 1] + Float(0.001 * normal.next()) }
        var moments = FeatureMoments(width: d)
        rows.withUnsafeBufferPointer { moments.add($0, rows: count) }
        let knockoffs = try GaussianKnockoffs(moments: moments)
        var output = [Float](repeating: 0, count: rows.count)
        knockoffs.sample(rows, rows: count, into: &output, normal: &normal)
        /// √E(x_j − x̃_j)² over the unit's standard deviation.
        func relativeGap(_ j: Int) -> Double {
            let gap = (0..<count).reduce(0.0) { $0 + pow(Double(rows[$1 * d + j] - output[$1 * d + j]), 2) }
            let spread = (0..<count).reduce(0.0) { $0 + pow(Double(rows[$1 * d + j]), 2) }
            return (gap / spread).squareRoot()
        }
        #expect(relativeGap(5) < 0.01)
        // The units that take part in no redundancy keep a knockoff far from themselves.
        for j in 2..<5 { #expect(relativeGap(j) > 10 * relativeGap(5)) }
    }

    @Test func aSingularCovarianceIsRidged() throws {
        // Unit 2 is exactly unit 0 + unit 1: Σ is singular, and the ridge grows until it factors.
        let sigma: [Double] = [1, 0, 1, 0, 1, 1, 1, 1, 2]
        let knockoffs = try GaussianKnockoffs(mean: [0, 0, 0], covariance: sigma, ridge: 0)
        #expect(knockoffs.ridge > 0)
        #expect(throws: PruneError.self) { try GaussianKnockoffs(mean: [0, 0], covariance: [1, 0, 0, 0]) }
    }
}
