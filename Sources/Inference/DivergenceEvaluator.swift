import Foundation
import ModelIO

/// Compares a model's next-token distributions with a base model's by llama.cpp's protocol
/// (`llama-perplexity --kl-divergence-base F --kl-divergence`): non-overlapping windows of
/// `seqlen` tokens (the first replaced by BOS when the tokenizer adds one), each run as an
/// independent sequence, only the second half scored (the predictions of tokens seqlen/2 + 1 …
/// seqlen − 1); the base's log-probabilities are kept in llama.cpp's compact form
/// (`LogProbRecord`) whether they come from a base model or a file, so both tools agree.
public struct DivergenceEvaluator {
    /// The model judged against the base.
    public let model: Model
    /// Checked before every window.
    public let cancellation: Cancellation?

    /// Creates an evaluator for `model`, stoppable through `cancellation`.
    public init(model: Model, cancellation: Cancellation? = nil) {
        self.model = model
        self.cancellation = cancellation
    }

    /// Compares with `base` run on the windows of `tokens` (at most `maxChunks` of them);
    /// with `saveBase`, the base's records are also written there window by window as a llama.cpp
    /// base file (renamed into place once complete).
    ///
    /// - Throws: `ModelIOError` if the vocabularies differ; `InferenceError` for too few tokens or
    ///   a bad id, or when cancelled.
    public func compare(
        base: Model, tokens: [Int32], seqlen: Int, maxChunks: Int? = nil, saveBase: String? = nil,
        progress: ((_ done: Int, _ total: Int) -> Void)? = nil
    ) throws -> DivergenceResult {
        guard base.config.vocabSize == model.config.vocabSize else {
            throw ModelIOError(
                path: base.sourcePath, item: "vocabulary",
                "the base has \(base.config.vocabSize) tokens and \(model.sourcePath) has \(model.config.vocabSize); compare models that share a tokenizer"
            )
        }
        let total = try Self.windowCount(tokens: tokens.count, seqlen: seqlen, maxChunks: maxChunks)
        let vocab = model.config.vocabSize
        let baseForward = try ForwardPass(model: base, capacity: seqlen, keepsCache: false)
        let recordLength = LogProbRecord.length(vocab: vocab)
        let records = UnsafeMutableBufferPointer<UInt16>.allocate(
            capacity: LlamaCppLogitsFile.scoredPositions(context: seqlen) * recordLength)
        defer { records.deallocate() }
        let scored = Array(tokens[0..<total * seqlen])
        let save = try saveBase.map { path in
            try LlamaCppLogitsWriter(path: path, context: seqlen, vocab: vocab, tokens: scored)
        }
        let result = try run(tokens: scored, seqlen: seqlen, chunks: total, progress: progress) {
            window, _ in
            try Self.encode(baseForward, window, into: records.baseAddress!, recordLength: recordLength)
            try save?.append(window: UnsafeBufferPointer(records))
            return UnsafePointer(records.baseAddress!)
        }
        try save?.commit()
        return result
    }

    /// Compares with the base log-probabilities stored in `file` (its windows and tokens), at most
    /// `maxChunks` windows.
    ///
    /// - Throws: `ModelIOError` if the file's vocabulary differs from the model's; `InferenceError`
    ///   for a bad id or when cancelled.
    public func compare(
        base file: LlamaCppLogitsFile, maxChunks: Int? = nil, progress: ((_ done: Int, _ total: Int) -> Void)? = nil
    ) throws -> DivergenceResult {
        guard file.vocabularySize == model.config.vocabSize else {
            throw ModelIOError(
                path: file.path, item: "n_vocab",
                "written for a vocabulary of \(file.vocabularySize) tokens; \(model.sourcePath) has \(model.config.vocabSize)"
            )
        }
        let total = try Self.windowCount(tokens: file.tokens.count, seqlen: file.context, maxChunks: maxChunks)
        return try run(tokens: file.tokens, seqlen: file.context, chunks: total, progress: progress) { _, chunk in
            file.records(chunk: chunk)
        }
    }
}

extension DivergenceEvaluator {
    /// The number of whole windows to evaluate.
    static func windowCount(tokens: Int, seqlen: Int, maxChunks: Int?) throws(InferenceError) -> Int {
        guard seqlen >= 4 else { throw InferenceError("seqlen \(seqlen) must be at least 4 to score a second half") }
        if let maxChunks, maxChunks < 1 { throw InferenceError("maximum chunk count \(maxChunks) must be at least 1") }
        guard tokens >= seqlen else { throw InferenceError("\(tokens) tokens do not fill one window of \(seqlen)") }
        return min(tokens / seqlen, maxChunks ?? Int.max)
    }

    /// The tokens the model reads for `window`: its first replaced by BOS when the tokenizer adds
    /// one (as llama-perplexity does).
    func input(_ window: ArraySlice<Int32>, for model: Model) -> [Int32] {
        var ids = Array(window)
        let vocabulary = model.tokenizer.vocabulary
        if vocabulary.addBOS, let bos = vocabulary.bosID { ids[0] = bos }
        return ids
    }

    /// Runs the windows: `baseRecords(window, index)` gives the base records of a window (valid
    /// until the next call); the model's logits of the scored rows are compared with them.
    private func run(
        tokens: [Int32], seqlen: Int, chunks: Int, progress: ((_ done: Int, _ total: Int) -> Void)?,
        baseRecords: (_ window: [Int32], _ chunk: Int) throws -> UnsafePointer<UInt16>
    ) throws -> DivergenceResult {
        let start = DispatchTime.now().uptimeNanoseconds
        let vocab = model.config.vocabSize
        let recordLength = LogProbRecord.length(vocab: vocab)
        let first = seqlen / 2
        let scored = LlamaCppLogitsFile.scoredPositions(context: seqlen)
        let forward = try ForwardPass(model: model, capacity: seqlen, keepsCache: false)
        let workers = max(1, forward.attentionWorkers)
        var sums = DivergenceSums()
        var kldValues = [Float](repeating: 0, count: chunks * scored)
        var deltaPValues = [Float](repeating: 0, count: chunks * scored)
        for chunk in 0..<chunks {
            try cancellation?.check()
            let window = Array(tokens[chunk * seqlen..<(chunk + 1) * seqlen])
            let records = UnsafeSendable(try baseRecords(input(window[...], for: model), chunk))
            var partial = [DivergenceSums](repeating: DivergenceSums(), count: workers)
            try kldValues.withUnsafeMutableBufferPointer { klds throws in
                try deltaPValues.withUnsafeMutableBufferPointer { deltas throws in
                    let out = UnsafeSendable((klds.baseAddress! + chunk * scored, deltas.baseAddress! + chunk * scored))
                    try partial.withUnsafeMutableBufferPointer { partials throws in
                        let accumulators = UnsafeSendable(partials.baseAddress!)
                        try window.withUnsafeBufferPointer { ids throws in
                            let targets = UnsafeSendable(ids.baseAddress!)
                            try forward.logitBlocks(input(window[...], for: model), rows: first..<(seqlen - 1)) {
                                firstRow, rows, logits in
                                let block = UnsafeSendable(logits)
                                let share = (rows + workers - 1) / workers
                                DispatchQueue.concurrentPerform(iterations: workers) { worker in
                                    for row in (worker * share)..<min(rows, (worker + 1) * share) {
                                        let position = firstRow + row - first
                                        let outcome = LogProbRecord.divergence(
                                            block.value + row * vocab, vocab: vocab,
                                            base: records.value + position * recordLength,
                                            target: Int(targets.value[firstRow + row + 1]),
                                            into: &accumulators.value[worker])
                                        out.value.0[position] = Float(outcome.kld)
                                        out.value.1[position] = outcome.deltaP
                                    }
                                }
                            }
                        }
                    }
                }
            }
            for part in partial { sums.merge(part) }
            progress?(chunk + 1, chunks)
        }
        return DivergenceResult(
            sums: sums, kldValues: kldValues, deltaPValues: deltaPValues, chunks: chunks, seqlen: seqlen,
            seconds: Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9)
    }

    /// Runs `window` through `forward` and encodes the scored rows into `records`.
    private static func encode(
        _ forward: ForwardPass, _ window: [Int32], into records: UnsafeMutablePointer<UInt16>, recordLength: Int
    ) throws {
        let vocab = forward.model.config.vocabSize
        let seqlen = window.count
        let first = seqlen / 2
        let workers = max(1, forward.attentionWorkers)
        let out = UnsafeSendable(records)
        try window.withUnsafeBufferPointer { ids throws in
            let targets = UnsafeSendable(ids.baseAddress!)
            try forward.logitBlocks(window, rows: first..<(seqlen - 1)) { firstRow, rows, logits in
                let block = UnsafeSendable(logits)
                let share = (rows + workers - 1) / workers
                DispatchQueue.concurrentPerform(iterations: workers) { worker in
                    for row in (worker * share)..<min(rows, (worker + 1) * share) {
                        _ = LogProbRecord.encode(
                            block.value + row * vocab, vocab: vocab, target: Int(targets.value[firstRow + row + 1]),
                            into: out.value + (firstRow + row - first) * recordLength)
                    }
                }
            }
        }
    }
}
