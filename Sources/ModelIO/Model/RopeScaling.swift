import Foundation

/// How a model stretches its rotary position embedding beyond its training context: every
/// frequency `base^(-2i/headDim)` is divided by a per-frequency factor (llama.cpp's `rope_freqs`
/// tensor; 1 everywhere without scaling), and for YaRN the cosines and sines are multiplied by an
/// attention factor.
public enum RopeScaling: Sendable, Equatable {
    /// Plain RoPE.
    case none
    /// Every frequency divided by `factor` (position interpolation; transformers' `linear`,
    /// llama.cpp's `rope.scaling.type = linear`).
    case linear(factor: Float)
    /// Llama 3.1's scheme: wavelengths shorter than `originalContextLength / highFrequencyFactor`
    /// keep their frequency, those longer than `originalContextLength / lowFrequencyFactor` are
    /// divided by `factor`, and the band between is interpolated smoothly.
    case llama3(factor: Float, lowFrequencyFactor: Float, highFrequencyFactor: Float, originalContextLength: Int)
    /// Per-frequency divisors as stored in a GGUF `rope_freqs.weight` tensor (`headDim / 2`
    /// values), whose parameters the file does not record.
    case frequencyFactors([Float])
    /// YaRN (transformers' `yarn`, llama.cpp's `rope.scaling.type = yarn`): frequency `i` is
    /// interpolated (divided by `factor`) or kept by a linear ramp over `i` between the correction
    /// dimensions of `betaFast` and `betaSlow` rotations within `originalContextLength`
    /// (floored and ceiled); cosines and sines are multiplied by `attentionFactor`
    /// (`0.1·ln(factor) + 1` unless the configuration sets it).
    case yarn(factor: Float, originalContextLength: Int, betaFast: Float, betaSlow: Float, attentionFactor: Float)

    /// YaRN's default attention factor for `factor`, scaled by `mscale`: `0.1·mscale·ln(factor) + 1`
    /// (1 for a factor ≤ 1), as transformers' `yarn_get_mscale` and llama.cpp compute it.
    public static func yarnAttentionFactor(_ factor: Float, mscale: Float = 1) -> Float {
        factor <= 1 ? 1 : 0.1 * mscale * log(factor) + 1
    }

    /// The factor by which the rotary cosines and sines are multiplied (YaRN's attention factor;
    /// 1 otherwise).
    public var attentionFactor: Float {
        if case .yarn(_, _, _, _, let attentionFactor) = self { return attentionFactor }
        return 1
    }

    /// The divisor of each of the `headDim / 2` frequencies for RoPE base `base`, as llama.cpp's
    /// converter computes them into `rope_freqs.weight` (F32); nil for `none`.
    public func divisors(headDim: Int, base: Float) -> [Float]? {
        let half = headDim / 2
        switch self {
        case .none:
            return nil
        case .linear(let factor):
            return Array(repeating: factor, count: half)
        case .frequencyFactors(let factors):
            return factors
        case .llama3(let factor, let low, let high, let original):
            let context = Double(original)
            let longest = context / Double(low), shortest = context / Double(high)
            return (0..<half).map { i in
                let wavelength = 2 * Double.pi * pow(Double(base), 2 * Double(i) / Double(headDim))
                if wavelength < shortest { return 1 }
                if wavelength > longest { return factor }
                let smooth = (context / wavelength - Double(low)) / Double(high - low)
                return Float(1 / ((1 - smooth) / Double(factor) + smooth))
            }
        case .yarn(let factor, let original, let betaFast, let betaSlow, _):
            // The frequency index that turns `rotations` times within the original context.
            func correction(_ rotations: Float) -> Double {
                Double(headDim) * log(Double(original) / (Double(rotations) * 2 * Double.pi)) / (2 * log(Double(base)))
            }
            let low = max(floor(correction(betaFast)), 0)
            var high = min(ceil(correction(betaSlow)), Double(headDim - 1))
            if low == high { high += 0.001 }
            return (0..<half).map { i in
                // Weight of the original (extrapolated) frequency: 1 below `low`, 0 above `high`.
                let kept = 1 - min(max((Double(i) - low) / (high - low), 0), 1)
                return Float(1 / ((1 - kept) / Double(factor) + kept))
            }
        }
    }

    /// A short description for `shears inspect` and errors (`llama3(factor 8, ...)`).
    public var summary: String {
        switch self {
        case .none: "none"
        case .linear(let factor): "linear(factor \(factor))"
        case .llama3(let factor, let low, let high, let original):
            "llama3(factor \(factor), low_freq_factor \(low), high_freq_factor \(high), "
                + "original_max_position_embeddings \(original))"
        case .frequencyFactors(let factors): "rope_freqs(\(factors.count) factors)"
        case .yarn(let factor, let original, let betaFast, let betaSlow, let attentionFactor):
            "yarn(factor \(factor), original_max_position_embeddings \(original), beta_fast \(betaFast), "
                + "beta_slow \(betaSlow), attention_factor \(attentionFactor))"
        }
    }

    /// Checks the parameters (positive, finite factors; `high > low` for `llama3`; `count`
    /// factors for `frequencyFactors`; `betaFast > betaSlow` and a positive original context for
    /// `yarn`).
    ///
    /// - Throws: `ModelIOError` naming `path` and `item`.
    public func validate(frequencies count: Int, path: String, item: String) throws(ModelIOError) {
        func positive(_ value: Float, _ name: String) throws(ModelIOError) {
            guard value.isFinite && value > 0 else {
                throw ModelIOError(path: path, item: item, "\(name) \(value) must be a positive number")
            }
        }
        switch self {
        case .none: break
        case .linear(let factor): try positive(factor, "factor")
        case .llama3(let factor, let low, let high, let original):
            try positive(factor, "factor")
            try positive(low, "low_freq_factor")
            try positive(high, "high_freq_factor")
            guard high > low else {
                throw ModelIOError(
                    path: path, item: item, "high_freq_factor \(high) must exceed low_freq_factor \(low)")
            }
            guard original > 0 else {
                throw ModelIOError(
                    path: path, item: item, "original_max_position_embeddings \(original) must be positive")
            }
        case .frequencyFactors(let factors):
            guard factors.count == count else {
                throw ModelIOError(
                    path: path, item: item, "has \(factors.count) factors; the head dimension needs \(count)")
            }
            for (index, factor) in factors.enumerated() { try positive(factor, "factor \(index)") }
        case .yarn(let factor, let original, let betaFast, let betaSlow, let attentionFactor):
            try positive(factor, "factor")
            try positive(betaFast, "beta_fast")
            try positive(betaSlow, "beta_slow")
            try positive(attentionFactor, "attention_factor")
            guard betaFast > betaSlow else {
                throw ModelIOError(path: path, item: item, "beta_fast \(betaFast) must exceed beta_slow \(betaSlow)")
            }
            guard original > 0 else {
                throw ModelIOError(
                    path: path, item: item, "original_max_position_embeddings \(original) must be positive")
            }
        }
    }
}
