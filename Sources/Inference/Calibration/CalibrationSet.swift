import ModelIO
import SeededRandom

/// Token windows that pruning methods run the model on to gather activation statistics.
///
/// Each window is an independent sequence (positions from 0, no BOS added). Three ways to build
/// one: random windows of a token stream drawn exactly as the Wanda/SparseGPT reference code draws
/// them (`random.seed(seed)` then `randint(0, n - seqlen - 1)` per sample), explicit start
/// offsets, or text sampled from the model itself (data-free, "self-generated" calibration).
public struct CalibrationSet: Sendable, Equatable {
    /// The windows, all `seqlen` tokens long.
    public let windows: [[Int32]]
    /// Tokens per window.
    public let seqlen: Int
    /// Where the windows came from, for reports and provenance.
    public let source: String

    /// Creates a set from windows of equal length.
    ///
    /// - Throws: `InferenceError` when there are no windows or their lengths differ.
    public init(windows: [[Int32]], source: String) throws(InferenceError) {
        guard let first = windows.first, !first.isEmpty else {
            throw InferenceError("a calibration set needs at least one window")
        }
        guard windows.allSatisfy({ $0.count == first.count }) else {
            throw InferenceError("calibration windows must all have the same length")
        }
        self.windows = windows
        self.seqlen = first.count
        self.source = source
    }

    /// Total number of tokens.
    public var tokenCount: Int { windows.count * seqlen }

    /// `samples` windows of `seqlen` tokens at random offsets of `tokens`, drawn like the reference
    /// code with CPython's generator seeded by `seed`.
    ///
    /// - Throws: `InferenceError` if the stream is not longer than `seqlen` or counts are not positive.
    public static func random(
        from tokens: [Int32], samples: Int, seqlen: Int, seed: UInt64, source: String
    ) throws(InferenceError) -> CalibrationSet {
        guard samples >= 1, seqlen >= 1 else { throw InferenceError("calibration samples and seqlen must be positive") }
        guard tokens.count > seqlen + 1 else {
            throw InferenceError(
                "the calibration text has \(tokens.count) tokens; windows of \(seqlen) need more than \(seqlen + 1)")
        }
        var random = PythonRandom(seed: seed)
        let offsets = (0..<samples).map { _ in random.integer(in: 0...(tokens.count - seqlen - 1)) }
        return try windows(
            from: tokens, offsets: offsets, seqlen: seqlen,
            source: "\(source), \(samples) random windows of \(seqlen), seed \(seed)")
    }

    /// Windows of `seqlen` tokens starting at `offsets` into `tokens`.
    ///
    /// - Throws: `InferenceError` naming the first offset whose window does not fit.
    public static func windows(
        from tokens: [Int32], offsets: [Int], seqlen: Int, source: String
    ) throws(InferenceError) -> CalibrationSet {
        guard seqlen >= 1 else { throw InferenceError("calibration seqlen must be positive") }
        var windows: [[Int32]] = []
        for (index, offset) in offsets.enumerated() {
            guard offset >= 0, offset + seqlen <= tokens.count else {
                throw InferenceError(
                    "calibration offset #\(index + 1) = \(offset): the window [\(offset), \(offset + seqlen)) is outside the \(tokens.count) tokens"
                )
            }
            windows.append(Array(tokens[offset..<offset + seqlen]))
        }
        return try CalibrationSet(windows: windows, source: source)
    }

    /// Bytes of key/value cache `generated` allots to one batch of sequences.
    public static let generationCacheBudget = 1 << 30

    /// `samples` sequences of `seqlen` tokens sampled from `model` itself, each started from the
    /// BOS token (or a token drawn uniformly when the model has none), with `temperature`.
    ///
    /// The start token is not part of the window, so windows are pure model text; when the model
    /// ends a text (EOS) before `seqlen` tokens, the window goes on with a new text. The samples
    /// advance together in batches (`BatchedGenerator`, as many as `generationCacheBudget` allows);
    /// `progress` sees whole samples' worth of tokens produced so far. The windows equal
    /// `generatedSequentially`'s except where batched rounding flips a sampled token. `cancellation`
    /// is checked between generation steps.
    ///
    /// - Throws: `InferenceError` for bad counts or sampling options, or when cancelled.
    public static func generated(
        by model: Model, samples: Int, seqlen: Int, seed: UInt64, temperature: Float,
        cancellation: Cancellation? = nil, progress: ((_ done: Int, _ total: Int) -> Void)? = nil
    ) throws(InferenceError) -> CalibrationSet {
        guard samples >= 1, seqlen >= 1 else { throw InferenceError("calibration samples and seqlen must be positive") }
        let sampleSeeds = Self.sampleSeeds(samples, seed: seed)
        let perSequence = BatchedGenerator.cacheBytes(config: model.config, length: seqlen)
        let batchSize = min(samples, max(1, generationCacheBudget / perSequence))
        let generator = try BatchedGenerator(model: model, batchSize: batchSize, length: seqlen)
        generator.cancellation = cancellation
        var windows: [[Int32]] = []
        var reported = 0
        while windows.count < samples {
            let first = windows.count, count = min(batchSize, samples - first)
            windows += try generator.generate(
                sequences: count,
                segmentStart: { sequence, segment in
                    segmentStart(
                        model, sampleSeed: sampleSeeds[first + sequence], segment: segment, temperature: temperature)
                },
                progress: { produced in
                    let done = first + count * produced / seqlen
                    if done > reported {
                        reported = done
                        progress?(done, samples)
                    }
                })
        }
        return try CalibrationSet(windows: windows, source: generatedSource(samples, seqlen, temperature, seed))
    }

    /// The same windows as `generated`, produced one sample and one token at a time with
    /// `Generator` (the reference the batched path is checked against; much slower).
    ///
    /// - Throws: `InferenceError` for bad counts or sampling options.
    public static func generatedSequentially(
        by model: Model, samples: Int, seqlen: Int, seed: UInt64, temperature: Float
    ) throws(InferenceError) -> CalibrationSet {
        guard samples >= 1, seqlen >= 1 else { throw InferenceError("calibration samples and seqlen must be positive") }
        let generator = Generator(model: model)
        var windows: [[Int32]] = []
        for sampleSeed in Self.sampleSeeds(samples, seed: seed) {
            var window: [Int32] = []
            var segment = 0
            while window.count < seqlen {
                let start = segmentStart(model, sampleSeed: sampleSeed, segment: segment, temperature: temperature)
                window += try generator.generate(
                    prompt: [start.token], maxTokens: seqlen - window.count,
                    sampling: start.sampling)
                segment += 1
            }
            windows.append(window)
        }
        return try CalibrationSet(windows: windows, source: generatedSource(samples, seqlen, temperature, seed))
    }

    /// The start of text number `segment` of a sample: its seed is the sample's seed advanced
    /// `segment` times by a 64-bit LCG; the start token is BOS, or that seed modulo the vocabulary.
    private static func segmentStart(
        _ model: Model, sampleSeed: UInt64, segment: Int, temperature: Float
    ) -> SegmentStart {
        var segmentSeed = sampleSeed
        for _ in 0..<segment { segmentSeed = segmentSeed &* 6_364_136_223_846_793_005 &+ 1 }
        let token = model.tokenizer.bosID ?? Int32(truncatingIfNeeded: segmentSeed % UInt64(model.config.vocabSize))
        return SegmentStart(
            token: token, sampling: SamplingOptions(temperature: temperature, topK: 0, topP: 1, seed: segmentSeed))
    }

    /// Independent per-sample seeds: the first `count` outputs of SplitMix64 from `seed`.
    private static func sampleSeeds(_ count: Int, seed: UInt64) -> [UInt64] {
        var generator = SplitMix64(seed: seed)
        return (0..<count).map { _ in generator.next() }
    }

    private static func generatedSource(_ samples: Int, _ seqlen: Int, _ temperature: Float, _ seed: UInt64) -> String {
        "self-generated: \(samples) samples of \(seqlen) tokens, temperature \(temperature), seed \(seed)"
    }
}
