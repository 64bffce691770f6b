import Inference
import ModelIO

/// Which calibration windows to prune with, as `shears prune` flags and `shears.calibration{...}`
/// both describe them, with one set of defaults: 128 windows of 512 tokens, seed 0 (the
/// Wanda/SparseGPT reference's 128 samples at the sequence length our reference runs use).
package struct CalibrationRequest {
    /// Where the tokens come from.
    package enum Source {
        /// A text file, read and tokenized with `reading`.
        case text(String)
        /// A file of int32 token ids.
        case ids(String)
        /// Token ids given directly.
        case tokens([Int32])
        /// Text the model generates itself from its BOS token.
        case generated

        /// The token stream and its name in provenance (nil for `generated`).
        ///
        /// - Throws: `CommandFailure` for an unreadable or invalid file.
        package func tokens(
            for model: Model, reading: TextReading
        ) throws(CommandFailure) -> (ids: [Int32], name: String)? {
            switch self {
            case .text(let path): (try reading.encode(path, for: model), path)
            case .ids(let path): (try InputFiles.readIDs(path, vocabularySize: model.config.vocabSize), path)
            case .tokens(let list): (list, "token list")
            case .generated: nil
            }
        }
    }

    /// Windows when not given.
    package static let defaultSamples = 128
    /// Tokens per window when not given.
    package static let defaultSeqlen = 512
    /// Seed of random offsets and of generation when not given.
    package static let defaultSeed: UInt64 = 0
    /// Sampling temperature of generated windows when not given.
    package static let defaultTemperature: Float = 1

    /// The tokens.
    package var source: Source
    /// Windows (ignored with `offsets`, which give one window each).
    package var samples = defaultSamples
    /// Tokens per window.
    package var seqlen = defaultSeqlen
    /// Seed of the random offsets (text, ids, tokens) or of the sampling (generated).
    package var seed = defaultSeed
    /// Sampling temperature (generated).
    package var temperature = defaultTemperature
    /// Explicit window offsets instead of random ones, and where they came from (a file path, or
    /// "given offsets").
    package var offsets: (values: [Int], origin: String)?
    /// How a text source is read and tokenized.
    package var reading = TextReading()

    /// A request for `source` with the defaults.
    package init(source: Source) { self.source = source }

    /// The windows for `model`; `progress` sees generated samples, and `cancellation` stops
    /// their generation.
    ///
    /// - Throws: `CommandFailure` for an unreadable file, `InferenceError` for windows that do not
    ///   fit the tokens, bad counts, or a cancelled generation.
    package func makeSet(
        for model: Model, cancellation: Cancellation? = nil, progress: ((_ done: Int, _ total: Int) -> Void)? = nil
    ) throws -> CalibrationSet {
        guard let (tokens, name) = try source.tokens(for: model, reading: reading) else {
            return try CalibrationSet.generated(
                by: model, samples: samples, seqlen: seqlen, seed: seed,
                temperature: temperature, cancellation: cancellation, progress: progress)
        }
        if let offsets {
            return try CalibrationSet.windows(
                from: tokens, offsets: offsets.values, seqlen: seqlen,
                source: "\(name), \(offsets.values.count) windows of \(seqlen) at \(offsets.origin)")
        }
        return try CalibrationSet.random(from: tokens, samples: samples, seqlen: seqlen, seed: seed, source: name)
    }
}
