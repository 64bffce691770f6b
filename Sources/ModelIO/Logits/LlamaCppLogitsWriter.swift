/// Writes a llama.cpp `--kl-divergence-base` file (layout in `LlamaCppLogitsFile`) window by
/// window, under a temporary name renamed into place by `commit()`.
public final class LlamaCppLogitsWriter {
    /// The final path.
    public let path: String
    private let output: AtomicOutputFile
    private let windowLength: Int
    private let chunks: Int
    private var written = 0

    /// Starts the file at `path` (which must not exist) for `tokens.count / context` windows of
    /// `context` tokens over a vocabulary of `vocab` entries.
    ///
    /// - Throws: `ModelIOError` if `path` exists or cannot be created, or the tokens do not fill
    ///   whole windows.
    public init(path: String, context: Int, vocab: Int, tokens: [Int32]) throws(ModelIOError) {
        guard context >= 2, !tokens.isEmpty, tokens.count % context == 0 else {
            throw ModelIOError(path: path, "\(tokens.count) tokens do not fill whole windows of \(context)")
        }
        self.path = path
        chunks = tokens.count / context
        windowLength =
            LlamaCppLogitsFile.scoredPositions(context: context) * LlamaCppLogitsFile.recordLength(vocab: vocab)
        output = try AtomicOutputFile(path: path, replacingExisting: false)
        var header = LlamaCppLogitsFile.magic
        for value in [Int32(context), Int32(vocab), Int32(chunks)] {
            withUnsafeBytes(of: value.littleEndian) { header.append(contentsOf: $0) }
        }
        try output.write(header)
        let result = tokens.map(\.littleEndian).withUnsafeBytes { raw in
            Result { () throws(ModelIOError) in try output.write(raw) }
        }
        try result.get()
    }

    /// Appends the records of the next window (`scoredPositions × recordLength` UInt16).
    public func append(window records: UnsafeBufferPointer<UInt16>) throws(ModelIOError) {
        precondition(records.count == windowLength, "a window has \(windowLength) UInt16, got \(records.count)")
        guard written < chunks else { throw ModelIOError(path: path, "more than the \(chunks) windows announced") }
        try output.write(UnsafeRawBufferPointer(records))
        written += 1
    }

    /// Renames the complete file into place.
    ///
    /// - Throws: `ModelIOError` if fewer windows than announced were appended, or on I/O failure.
    public func commit() throws(ModelIOError) {
        guard written == chunks else {
            throw ModelIOError(path: path, "only \(written) of \(chunks) windows written; not saved")
        }
        try output.commit()
    }
}
