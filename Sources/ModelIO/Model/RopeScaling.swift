import Foundation

/// How a model stretches its rotary position embedding beyond its training context: every
/// frequency `base^(-2i/headDim)` is divided by a per-frequency factor (llama.cpp's `rope_freqs`
/// tensor; 1 everywhere without scaling).
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
        }
    }

    /// Checks the parameters (positive, finite factors; `high > low` for `llama3`; `count`
    /// factors for `frequencyFactors`).
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
        }
    }
}
