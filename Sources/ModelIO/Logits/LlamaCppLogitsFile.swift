/// A base model's log-probabilities as llama.cpp's `llama-perplexity --kl-divergence-base FILE`
/// writes them, mapped read-only.
///
/// Layout (little-endian): the 8 bytes `_logits_`; Int32 context (tokens per window); Int32
/// vocabulary size; Int32 window count; the windows' token ids (Int32, context × windows); then,
/// per window, one record per scored position (the second half of the window: context − 1 −
/// context / 2 positions), each `recordLength(vocab:)` UInt16 (see `LogProbRecord` in Inference).
public final class LlamaCppLogitsFile: @unchecked Sendable {
    // @unchecked Sendable: the mapping is read-only and immutable for the object's lifetime.

    /// The file's magic bytes.
    public static let magic = Array("_logits_".utf8)
    /// Bytes before the token ids.
    static let headerBytes = 20

    /// The path read.
    public let path: String
    /// Tokens per window.
    public let context: Int
    /// Vocabulary size of the model that wrote it.
    public let vocabularySize: Int
    /// Windows stored.
    public let chunks: Int
    /// The windows' token ids, window after window.
    public let tokens: [Int32]
    private let file: MappedFile
    private let recordsOffset: Int

    /// UInt16 per position record for a vocabulary of `vocab` entries: two Float32 then one code
    /// per entry, padded to an even count.
    public static func recordLength(vocab: Int) -> Int { 2 * ((vocab + 1) / 2) + 4 }

    /// Positions scored per window of `context` tokens: predictions of tokens context/2 + 1 … context − 1.
    public static func scoredPositions(context: Int) -> Int { context - 1 - context / 2 }

    /// Whether the file at `path` starts with the magic bytes (false if it cannot be read).
    public static func isLogitsFile(_ path: String) -> Bool {
        guard let file = try? MappedFile(path: path), file.bytes.count >= magic.count else { return false }
        return Array(file.bytes[0..<magic.count]) == magic
    }

    /// Maps and checks the file at `path`: magic, a positive context of at least 2, vocabulary and
    /// window count, and a size that holds every token and record.
    ///
    /// - Throws: `ModelIOError` naming the file and the field or window at fault.
    public init(path: String) throws(ModelIOError) {
        self.path = path
        file = try MappedFile(path: path)
        let bytes = file.bytes
        guard bytes.count >= Self.headerBytes, Array(bytes[0..<Self.magic.count]) == Self.magic else {
            throw ModelIOError(
                path: path,
                "not a llama.cpp log-probability file (no '_logits_' header); write one with shears eval --save-base or llama-perplexity --kl-divergence-base"
            )
        }
        func field(_ offset: Int) -> Int {
            Int(Int32(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: Int32.self)))
        }
        context = field(8)
        vocabularySize = field(12)
        chunks = field(16)
        guard context >= 2 else { throw ModelIOError(path: path, item: "n_ctx", "context \(context) is less than 2") }
        guard vocabularySize >= 1 else {
            throw ModelIOError(path: path, item: "n_vocab", "vocabulary size \(vocabularySize) is not positive")
        }
        guard chunks >= 1 else {
            throw ModelIOError(path: path, item: "n_chunk", "window count \(chunks) is not positive")
        }
        let tokenCount = context * chunks
        recordsOffset = Self.headerBytes + 4 * tokenCount
        let windowBytes = 2 * Self.scoredPositions(context: context) * Self.recordLength(vocab: vocabularySize)
        let expected = recordsOffset + chunks * windowBytes
        guard bytes.count >= expected else {
            let complete = bytes.count < recordsOffset ? 0 : (bytes.count - recordsOffset) / windowBytes
            throw ModelIOError(
                path: path, item: bytes.count < recordsOffset ? "tokens" : "window \(complete)",
                "truncated: \(bytes.count) bytes where \(chunks) windows of \(context) tokens need \(expected)")
        }
        guard bytes.count == expected else {
            throw ModelIOError(path: path, "\(bytes.count - expected) bytes follow the last of \(chunks) windows")
        }
        tokens = (0..<tokenCount).map {
            Int32(littleEndian: bytes.loadUnaligned(fromByteOffset: Self.headerBytes + 4 * $0, as: Int32.self))
        }
        if let bad = tokens.firstIndex(where: { $0 < 0 || Int($0) >= vocabularySize }) {
            throw ModelIOError(
                path: path, item: "token \(bad)", "id \(tokens[bad]) is outside the vocabulary of \(vocabularySize)")
        }
    }

    /// The records of window `chunk` (`scoredPositions × recordLength` UInt16), valid while this
    /// object lives.
    public func records(chunk: Int) -> UnsafePointer<UInt16> {
        precondition((0..<chunks).contains(chunk), "window \(chunk) out of range")
        let windowLength = Self.scoredPositions(context: context) * Self.recordLength(vocab: vocabularySize)
        return (file.bytes.baseAddress! + recordsOffset + 2 * chunk * windowLength).assumingMemoryBound(to: UInt16.self)
    }
}
