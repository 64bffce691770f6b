import CBLAS
import Foundation
import PruningEngine
import SeededRandom

/// Redundancy-aware Gaussian model-X knockoffs of one selection site's features (SCOP's K3
/// source, `methods-structured.md` §1.5): fitted to the site's mean μ and covariance Σ, they keep
/// `Cov(x̃) = Σ` and `Cov(x, x̃) = Σ − D` with `D = diag(s)`, `s = γ·D₀`, `D₀ = 1/diag(Σ⁻¹)` the
/// Gaussian conditional variances `Var(x_j | x_−j)`, and `γ = min(1, 2·λ_min(D₀^−½ Σ D₀^−½))`, the
/// largest scale keeping `2Σ − D` positive semi-definite. A sample is (row form)
/// `x̃ = x − (x − μ)Σ⁻¹D + ε`, `ε ~ N(0, 2D − DΣ⁻¹D)`: a unit predictable from the others has a
/// small `s_j`, so its knockoff is a near-copy of it (`E(x_j − x̃_j)² = 2s_j`).
package struct GaussianKnockoffs: Sendable {
    /// The number of features.
    package let width: Int
    /// μ.
    package let mean: [Double]
    /// `s`, the diagonal of D.
    package let scales: [Double]
    /// γ, the scale applied to the conditional variances.
    package let gamma: Double
    /// The ridge added to Σ's diagonal before inverting it, as a fraction of Σ's mean diagonal.
    package let ridge: Double
    /// `I − Σ⁻¹D`, `width × width` row-major: `x̃ = μ + (x − μ)·P + ε` (empty without sampling).
    private let projection: [Float]
    /// F with `FFᵀ = 2D − DΣ⁻¹D`, `width × width` row-major: `ε = z·Fᵀ`, z standard normal (empty
    /// without sampling).
    private let noiseFactor: [Float]

    /// Knockoffs for features of mean `mean` and covariance `covariance` (`width × width`,
    /// row-major, symmetric). Σ gets `ridge · mean(diag Σ)` on its diagonal; when that is not
    /// enough for a Cholesky factorisation the ridge grows tenfold until it is (read `ridge` to
    /// say so). Without `sampling` only the scales are computed (the sampling factors cost an
    /// eigendecomposition more), and `sample` must not be called.
    ///
    /// - Throws: `PruneError` for mismatched sizes, non-finite or non-positive variances, or a
    ///   covariance no ridge up to 1 makes positive definite.
    package init(mean: [Double], covariance: [Double], ridge: Double = 1e-6, sampling: Bool = true) throws(PruneError) {
        let d = mean.count
        guard d > 0, covariance.count == d * d else {
            throw PruneError(
                "gaussian knockoffs: \(mean.count) means and \(covariance.count) covariance entries do not fit")
        }
        let diagonal = (0..<d).map { covariance[$0 * d + $0] }
        guard diagonal.allSatisfy({ $0.isFinite && $0 > 0 }), covariance.allSatisfy(\.isFinite) else {
            throw PruneError(
                "gaussian knockoffs: the covariance has a non-finite entry or a variance that is not positive (a dead unit); leave such units out"
            )
        }
        let scale = diagonal.reduce(0, +) / Double(d)
        var ridge = ridge
        var inverse: [Double]? = nil
        while inverse == nil {
            guard ridge <= 1 else {
                throw PruneError("gaussian knockoffs: the covariance stays singular with a ridge of its mean variance")
            }
            var ridged = covariance
            for j in 0..<d { ridged[j * d + j] += ridge * scale }
            inverse = Self.inverse(ridged, d)
            if inverse == nil { ridge = max(ridge * 10, 1e-8) }
        }
        let precision = inverse!
        var sigma = covariance
        for j in 0..<d { sigma[j * d + j] += ridge * scale }
        let conditional = (0..<d).map { 1 / precision[$0 * d + $0] }
        // λ_min of D₀^−½ Σ D₀^−½.
        var normalised = [Double](repeating: 0, count: d * d)
        for i in 0..<d {
            for j in 0..<d { normalised[i * d + j] = sigma[i * d + j] / (conditional[i] * conditional[j]).squareRoot() }
        }
        let smallest = Self.eigen(&normalised, d, vectors: false).min()!
        let gamma = min(1, 2 * smallest)
        let s = conditional.map { gamma * $0 }
        self.width = d
        self.mean = mean
        self.scales = s
        self.gamma = gamma
        self.ridge = ridge
        guard sampling else {
            projection = []
            noiseFactor = []
            return
        }
        // P = I − Σ⁻¹D and V = 2D − DΣ⁻¹D.
        var projection = [Float](repeating: 0, count: d * d)
        var noise = [Double](repeating: 0, count: d * d)
        for i in 0..<d {
            for j in 0..<d {
                let product = precision[i * d + j] * s[j]
                projection[i * d + j] = Float((i == j ? 1 : 0) - product)
                noise[i * d + j] = (i == j ? 2 * s[i] : 0) - s[i] * product
            }
        }
        let values = Self.eigen(&noise, d, vectors: true)
        // dsyev leaves the eigenvectors as the columns of the column-major matrix: row k of `noise` is vector k.
        var factor = [Float](repeating: 0, count: d * d)
        for k in 0..<d {
            let root = max(values[k], 0).squareRoot()
            for i in 0..<d { factor[i * d + k] = Float(noise[k * d + i] * root) }
        }
        self.projection = projection
        self.noiseFactor = factor
    }

    /// Knockoffs fitted to the mean and covariance of the rows `moments` saw.
    ///
    /// - Throws: `PruneError` for fewer than two rows, or as `init(mean:covariance:ridge:)`.
    package init(moments: FeatureMoments, ridge: Double = 1e-6, sampling: Bool = true) throws(PruneError) {
        try self.init(mean: moments.mean, covariance: try moments.covariance(), ridge: ridge, sampling: sampling)
    }

    /// Writes the knockoffs of `rows` rows of `x` (`rows × width`, row-major) into `output`,
    /// drawing the noise from `normal`.
    ///
    /// - Precondition: fitted with `sampling`.
    package func sample(
        _ x: UnsafePointer<Float>, rows: Int, into output: UnsafeMutablePointer<Float>, normal: inout NormalSource
    ) {
        precondition(!noiseFactor.isEmpty, "GaussianKnockoffs: fitted without sampling")
        let d = width
        var centred = [Float](repeating: 0, count: rows * d), noise = [Float](repeating: 0, count: rows * d)
        for r in 0..<rows {
            for j in 0..<d {
                centred[r * d + j] = x[r * d + j] - Float(mean[j])
                noise[r * d + j] = Float(normal.next())
            }
        }
        cblas_sgemm(
            CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(rows), Int32(d), Int32(d), 1, centred, Int32(d),
            projection, Int32(d), 0, output, Int32(d))
        cblas_sgemm(
            CblasRowMajor, CblasNoTrans, CblasTrans, Int32(rows), Int32(d), Int32(d), 1, noise, Int32(d),
            noiseFactor, Int32(d), 1, output, Int32(d))
        for r in 0..<rows {
            for j in 0..<d { output[r * d + j] += Float(mean[j]) }
        }
    }

    /// The inverse of the symmetric matrix `a` (`d × d`), nil when it is not positive definite.
    private static func inverse(_ a: [Double], _ d: Int) -> [Double]? {
        var a = a, n = Int32(d), info: Int32 = 0
        var lower: CChar = 76 // "L"
        dpotrf_(&lower, &n, &a, &n, &info)
        guard info == 0 else { return nil }
        dpotri_(&lower, &n, &a, &n, &info)
        guard info == 0 else { return nil }
        // Column-major lower is row-major upper: mirror it.
        for i in 0..<d {
            for j in 0..<i { a[i * d + j] = a[j * d + i] }
        }
        return a
    }

    /// The eigenvalues (ascending) of the symmetric `a` (`d × d`); with `vectors`, `a` becomes
    /// the eigenvectors, vector k in row k.
    private static func eigen(_ a: inout [Double], _ d: Int, vectors: Bool) -> [Double] {
        var job: CChar = vectors ? 86 : 78 // "V" or "N"
        var upper: CChar = 85 // "U"
        var n = Int32(d), info: Int32 = 0, size: Int32 = -1, query = 0.0
        var values = [Double](repeating: 0, count: d)
        dsyev_(&job, &upper, &n, &a, &n, &values, &query, &size, &info)
        size = Int32(query)
        var work = [Double](repeating: 0, count: Int(size))
        dsyev_(&job, &upper, &n, &a, &n, &values, &work, &size, &info)
        precondition(info == 0, "dsyev failed (\(info)) on a finite symmetric matrix")
        return values
    }
}

/// Running mean and covariance of feature rows (Double sums).
package struct FeatureMoments: Sendable {
    /// The number of features.
    package let width: Int
    /// The rows seen.
    package private(set) var count = 0
    private var sums: [Double]
    private var products: [Double]

    /// Empty moments of `width` features.
    package init(width: Int) {
        self.width = width
        sums = Array(repeating: 0, count: width)
        products = Array(repeating: 0, count: width * width)
    }

    /// Adds `rows` rows of `values` (`rows × width`, row-major).
    package mutating func add(_ values: UnsafeBufferPointer<Float>, rows: Int) {
        guard rows > 0 else { return }
        let d = width
        let doubles = values.prefix(rows * d).map(Double.init)
        for r in 0..<rows {
            for j in 0..<d { sums[j] += doubles[r * d + j] }
        }
        cblas_dsyrk(
            CblasRowMajor, CblasUpper, CblasTrans, Int32(d), Int32(rows), 1, doubles, Int32(d), 1, &products,
            Int32(d))
        count += rows
    }

    /// μ.
    package var mean: [Double] { sums.map { $0 / Double(max(count, 1)) } }

    /// The unbiased covariance, `width × width` row-major.
    ///
    /// - Throws: `PruneError` for fewer than two rows.
    package func covariance() throws(PruneError) -> [Double] {
        guard count >= 2 else { throw PruneError("gaussian knockoffs: \(count) row(s) cannot give a covariance") }
        let d = width, n = Double(count), mu = mean
        var result = [Double](repeating: 0, count: d * d)
        for i in 0..<d {
            for j in i..<d {
                let value = (products[i * d + j] - n * mu[i] * mu[j]) / (n - 1)
                result[i * d + j] = value
                result[j * d + i] = value
            }
        }
        return result
    }
}
