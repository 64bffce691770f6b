import Foundation

/// Running sums of a model-against-base comparison, position by position (llama.cpp's
/// `kl_divergence_result`): both NLLs and their product, KLD, Δp and its powers, same-top count.
package struct DivergenceSums: Sendable, Equatable {
    var nll = 0.0, nll2 = 0.0, nllBase = 0.0, nllBase2 = 0.0, nllProduct = 0.0
    var kld = 0.0, kld2 = 0.0
    var deltaP = 0.0, deltaP2 = 0.0, deltaP4 = 0.0
    var sameTop = 0
    var count = 0

    /// Adds one position.
    mutating func add(nll: Double, nllBase: Double, kld: Double, deltaP: Float, sameTop: Bool) {
        self.nll += nll
        nll2 += nll * nll
        self.nllBase += nllBase
        nllBase2 += nllBase * nllBase
        nllProduct += nll * nllBase
        self.kld += kld
        kld2 += kld * kld
        self.deltaP += Double(deltaP)
        let square = Double(deltaP * deltaP)
        deltaP2 += square
        deltaP4 += square * square
        if sameTop { self.sameTop += 1 }
        count += 1
    }

    /// Adds the positions counted in `other`.
    mutating func merge(_ other: DivergenceSums) {
        nll += other.nll
        nll2 += other.nll2
        nllBase += other.nllBase
        nllBase2 += other.nllBase2
        nllProduct += other.nllProduct
        kld += other.kld
        kld2 += other.kld2
        deltaP += other.deltaP
        deltaP2 += other.deltaP2
        deltaP4 += other.deltaP4
        sameTop += other.sameTop
        count += other.count
    }
}

/// How a model's next-token distributions differ from a base model's on the same windows, with
/// llama.cpp's `llama-perplexity --kl-divergence` statistics and uncertainties.
public struct DivergenceResult: Sendable, Equatable {
    /// Percentile levels reported for KLD and Δp, in llama.cpp's order (high to low; 0.5 is the median).
    public static let percentileLevels: [Double] = [0.999, 0.99, 0.95, 0.9, 0.75, 0.5, 0.25, 0.1, 0.05, 0.01, 0.001]

    /// Windows compared.
    public var chunks: Int
    /// Tokens per window.
    public var seqlen: Int
    /// Positions scored (the second half of each window: `seqlen - 1 - seqlen / 2` per window).
    public var positions: Int
    /// Wall-clock seconds.
    public var seconds: Double
    /// Perplexity of the model over the scored positions.
    public var perplexity: Estimate
    /// Perplexity of the base over the same positions (from its stored log-probabilities).
    public var basePerplexity: Estimate
    /// ln(PPL / PPL_base), its uncertainty allowing for the correlation of the two.
    public var logPerplexityRatio: Estimate
    /// Correlation of the per-position NLLs of model and base.
    public var nllCorrelation: Double
    /// Mean KLD(base‖model) per position, in nats.
    public var kld: Estimate
    /// KLD percentiles at `percentileLevels`, and the extremes.
    public var kldPercentiles: [Double]
    /// Smallest and largest KLD of one position.
    public var kldRange: ClosedRange<Double>
    /// Mean of Δp = p(true token) − p_base(true token).
    public var deltaP: Estimate
    /// Root mean square of Δp.
    public var deltaPRMS: Estimate
    /// Δp percentiles at `percentileLevels`.
    public var deltaPPercentiles: [Double]
    /// Smallest and largest Δp.
    public var deltaPRange: ClosedRange<Double>
    /// Fraction of positions where model and base rank the same token first.
    public var sameTop: Estimate

    /// Summarises `sums` and the per-position KLD and Δp values (any order).
    package init(
        sums: DivergenceSums, kldValues: [Float], deltaPValues: [Float], chunks: Int, seqlen: Int, seconds: Double
    ) {
        self.chunks = chunks
        self.seqlen = seqlen
        self.seconds = seconds
        positions = sums.count
        let n = sums.count
        let logPPL = Self.mean(sums.nll, sums.nll2, n)
        let logBase = Self.mean(sums.nllBase, sums.nllBase2, n)
        perplexity = Estimate(value: exp(logPPL.value), stderr: exp(logPPL.value) * logPPL.stderr)
        basePerplexity = Estimate(value: exp(logBase.value), stderr: exp(logBase.value) * logBase.stderr)
        let covariance =
            n < 10 ? 0 : (sums.nllProduct / Double(n) - logPPL.value * logBase.value) / Double(n - 1)
        let ratioVariance = logPPL.stderr * logPPL.stderr + logBase.stderr * logBase.stderr - 2 * covariance
        logPerplexityRatio = Estimate(value: logPPL.value - logBase.value, stderr: max(ratioVariance, 0).squareRoot())
        let spread = logPPL.stderr * logBase.stderr
        nllCorrelation = spread > 0 ? covariance / spread : 0
        kld = Self.mean(sums.kld, sums.kld2, n)
        deltaP = Self.mean(sums.deltaP, sums.deltaP2, n)
        let meanSquare = Self.mean(sums.deltaP2, sums.deltaP4, n)
        let rms = meanSquare.value.squareRoot()
        deltaPRMS = Estimate(value: rms, stderr: rms > 0 ? 0.5 / rms * meanSquare.stderr : 0)
        sameTop = Estimate.share(sums.sameTop, of: n)
        let sortedKLD = kldValues.sorted(), sortedDeltaP = deltaPValues.sorted()
        kldPercentiles = Self.percentileLevels.map { Self.percentile(sortedKLD, $0) }
        deltaPPercentiles = Self.percentileLevels.map { Self.percentile(sortedDeltaP, $0) }
        kldRange = Double(sortedKLD.first ?? 0)...Double(sortedKLD.last ?? 0)
        deltaPRange = Double(sortedDeltaP.first ?? 0)...Double(sortedDeltaP.last ?? 0)
    }

    /// Mean of `count` samples from their sum and sum of squares, with the standard error
    /// llama.cpp gives it (0 for 10 samples or fewer).
    static func mean(_ sum: Double, _ sum2: Double, _ count: Int) -> Estimate {
        Estimate.mean(sum: sum, sumOfSquares: sum2, count: count, minimumCount: 11)
    }

    /// The value at `fraction` of the sorted `values`, interpolating linearly between neighbours
    /// (the median of an even count is the mean of the middle two).
    static func percentile(_ values: [Float], _ fraction: Double) -> Double {
        guard let first = values.first, let last = values.last else { return 0 }
        if fraction <= 0 { return Double(first) }
        if fraction >= 1 { return Double(last) }
        let position = fraction * Double(values.count - 1)
        let index = Int(position)
        let weight = position - Double(index)
        let next = values[min(index + 1, values.count - 1)]
        return (1 - weight) * Double(values[index]) + weight * Double(next)
    }
}
