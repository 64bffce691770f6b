/// A tokenizer built from GGUF metadata, a Hugging Face `tokenizer.json` or a SentencePiece
/// `tokenizer.model`: byte-level BPE (GPT-2 style), encoding exactly as llama.cpp and Hugging Face
/// `tokenizers` do, or SentencePiece Unigram / BPE, encoding as the `sentencepiece` library does.
///
/// Immutable after construction, so one instance can be shared between threads.
public final class Tokenizer: Sendable {
    /// The vocabulary it was built from.
    public let vocabulary: BPEVocabulary
    /// The pre-tokenizer named by the vocabulary.
    public let preTokenizer: PreTokenizer

    private let idsByToken: [String: Int32]
    private let merges: MergeTable
    private let byteTokens: [Int32]
    private let alwaysParsed: SpecialTokenMatcher
    private let parsedOnRequest: SpecialTokenMatcher
    private let pieces: TokenPieces
    private let sentencePiece: SentencePieceEncoder?

    /// Builds a tokenizer from a vocabulary, checking that it is consistent.
    public init(vocabulary: BPEVocabulary) throws(TokenizerError) {
        let tokens = vocabulary.tokens
        guard !tokens.isEmpty, tokens.count <= Int(Int32.max) else {
            throw TokenizerError("the vocabulary has \(tokens.count) tokens")
        }
        guard vocabulary.tokenTypes.isEmpty || vocabulary.tokenTypes.count == tokens.count else {
            throw TokenizerError(
                "the vocabulary has \(tokens.count) tokens but \(vocabulary.tokenTypes.count) token types")
        }
        for (name, id) in [
            ("BOS", vocabulary.bosID), ("EOS", vocabulary.eosID), ("unknown", vocabulary.unknownID),
            ("padding", vocabulary.paddingID),
        ] {
            if let id, !(0..<Int32(tokens.count)).contains(id) {
                throw TokenizerError("the \(name) token id \(id) is outside the vocabulary of \(tokens.count) tokens")
            }
        }
        if vocabulary.addBOS && vocabulary.bosID == nil {
            throw TokenizerError("the vocabulary asks for a BOS token but has no BOS token id")
        }
        self.vocabulary = vocabulary
        preTokenizer = try PreTokenizer(name: vocabulary.preTokenizer)

        var idsByToken: [String: Int32] = [:]
        idsByToken.reserveCapacity(tokens.count)
        for (id, token) in tokens.enumerated() { idsByToken[token] = Int32(id) }
        self.idsByToken = idsByToken

        var userDefined: [(text: String, id: Int32)] = [], control: [(text: String, id: Int32)] = []
        for (id, token) in tokens.enumerated() {
            switch vocabulary.type(of: id) {
            case .userDefined: userDefined.append((token, Int32(id)))
            // Hugging Face's converted SentencePiece tokenizers also split out the unknown token.
            case .unknown where vocabulary.kind.isSentencePiece: control.append((token, Int32(id)))
            case .control: control.append((token, Int32(id)))
            default: break
            }
        }
        pieces = TokenPieces(vocabulary)
        if vocabulary.kind.isSentencePiece {
            // SentencePiece finds user-defined pieces itself, as part of segmentation.
            sentencePiece = try SentencePieceEncoder(vocabulary)
            byteTokens = []
            merges = try MergeTable(merges: [], ids: [:])
            alwaysParsed = SpecialTokenMatcher([])
            parsedOnRequest = SpecialTokenMatcher(userDefined + control)
            return
        }
        sentencePiece = nil
        byteTokens = ByteLevelAlphabet.scalars.map { idsByToken[String($0)] ?? -1 }
        guard byteTokens.contains(where: { $0 >= 0 }) else {
            throw TokenizerError("the vocabulary has no single-byte tokens, so it is not a byte-level BPE vocabulary")
        }
        merges = try MergeTable(merges: vocabulary.merges, ids: idsByToken)
        alwaysParsed = SpecialTokenMatcher(userDefined)
        parsedOnRequest = SpecialTokenMatcher(userDefined + control)
    }

    /// Number of tokens.
    public var vocabularySize: Int { vocabulary.tokens.count }

    /// The beginning-of-sequence token id, if any.
    public var bosID: Int32? { vocabulary.bosID }

    /// The end-of-sequence token id, if any.
    public var eosID: Int32? { vocabulary.eosID }

    /// Whether `id` is a control token (type 3, e.g. `<|endoftext|>`).
    public func isControl(_ id: Int32) -> Bool {
        id >= 0 && Int(id) < vocabularySize && vocabulary.type(of: Int(id)) == .control
    }

    /// The token string of `id` (in the byte-level alphabet, or the SentencePiece piece), or nil when out of range.
    public func token(for id: Int32) -> String? {
        id >= 0 && Int(id) < vocabularySize ? vocabulary.tokens[Int(id)] : nil
    }

    /// The id of a token string (in the byte-level alphabet), if it is in the vocabulary.
    public func id(for token: String) -> Int32? { idsByToken[token] }

    /// Encodes text to token ids, treating control tokens in it as plain text; prepends BOS only
    /// when the vocabulary says so.
    public func encode(_ text: String) -> [Int32] { encode(text, parseSpecialTokens: false) }

    /// Encodes text to token ids; with `parseSpecialTokens`, control tokens written in the text
    /// (`<|im_start|>`) become their ids. User-defined tokens are always recognised.
    ///
    /// SentencePiece: without `parseSpecialTokens` the ids are `sentencepiece`'s; with it, the
    /// text between special tokens is encoded piece by piece, each with its own `▁` prefix, as
    /// llama.cpp and transformers' converted (legacy) tokenizers do.
    public func encode(_ text: String, parseSpecialTokens: Bool) -> [Int32] {
        var output: [Int32] = []
        output.reserveCapacity(text.utf8.count / 3)
        if vocabulary.addBOS, let bos = vocabulary.bosID { output.append(bos) }
        var text = text
        if let sentencePiece {
            text.withUTF8 { bytes in
                let matcher = parseSpecialTokens ? parsedOnRequest : alwaysParsed
                let fragments: [SpecialTokenMatcher.Fragment] =
                    matcher.isEmpty ? [.text(0..<bytes.count)] : matcher.fragments(of: bytes)
                for fragment in fragments {
                    switch fragment {
                    case .token(let id): output.append(id)
                    case .text(let range):
                        sentencePiece.encode(UnsafeBufferPointer(rebasing: bytes[range]), into: &output)
                    }
                }
            }
            return output
        }
        text.withUTF8 { bytes in
            var encoder = WordEncoder(
                merges: merges, byteTokens: byteTokens,
                wholeWords: preTokenizer.ignoresMerges ? idsByToken : nil)
            var scalars = ScalarText()
            let matcher = parseSpecialTokens ? parsedOnRequest : alwaysParsed
            let fragments: [SpecialTokenMatcher.Fragment] =
                matcher.isEmpty ? [.text(0..<bytes.count)] : matcher.fragments(of: bytes)
            for fragment in fragments {
                switch fragment {
                case .token(let id):
                    output.append(id)
                case .text(let range):
                    preTokenizer.split(bytes, range, scalars: &scalars) { word in
                        encoder.encode(UnsafeBufferPointer(rebasing: bytes[word]), into: &output)
                    }
                }
            }
        }
        return output
    }

    /// Decodes token ids to text; control tokens are left out. Invalid UTF-8 (a sequence cut
    /// between tokens) and out-of-range ids become U+FFFD.
    public func decode(_ ids: [Int32]) -> String { decode(ids, renderSpecialTokens: false) }

    /// Decodes token ids to text, writing control tokens as their text when `renderSpecialTokens`.
    /// SentencePiece: the space of the dummy prefix at the start is dropped, as `sentencepiece` does.
    public func decode(_ ids: [Int32], renderSpecialTokens: Bool) -> String {
        var bytes = decodeBytes(ids, renderSpecialTokens: renderSpecialTokens)
        if vocabulary.kind.isSentencePiece && vocabulary.addSpacePrefix && bytes.first == 0x20 { bytes.removeFirst() }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The raw bytes token ids stand for (for streaming output, where a UTF-8 sequence can span
    /// tokens); control tokens only when `renderSpecialTokens`, out-of-range ids as U+FFFD.
    public func decodeBytes(_ ids: [Int32], renderSpecialTokens: Bool = false) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(ids.count * 4)
        for id in ids {
            guard id >= 0 && Int(id) < vocabularySize else {
                bytes.append(contentsOf: [0xEF, 0xBF, 0xBD])
                continue
            }
            if !renderSpecialTokens && vocabulary.type(of: Int(id)) == .control { continue }
            pieces.append(id, to: &bytes)
        }
        return bytes
    }
}

extension Tokenizer {
    /// The same vocabulary with another pre-tokenizer, e.g. `gpt2` to reproduce pipelines (such as
    /// transformers' GGUF loader) that ignore the model's own `tokenizer.ggml.pre`.
    ///
    /// - Throws: `TokenizerError` for an unknown pre-tokenizer name.
    public func replacingPreTokenizer(with name: String) throws(TokenizerError) -> Tokenizer {
        var changed = vocabulary
        changed.preTokenizer = name
        return try Tokenizer(vocabulary: changed)
    }
}
