/// The data a tokenizer is made of: a byte-level BPE vocabulary (tokens and merge rules) or a
/// SentencePiece one (pieces and scores), as `kind` says.
public struct BPEVocabulary: Sendable, Equatable {
    /// The algorithm the vocabulary is for.
    public var kind: TokenizerKind
    /// Token strings in id order: for byte-level BPE in GPT-2's byte-to-unicode alphabet, for
    /// SentencePiece as pieces with `▁` for spaces and `<0xXX>` byte pieces (user-defined and
    /// control tokens as plain text in both).
    public var tokens: [String]
    /// Merge rules in priority order, each `"left right"` (byte-level BPE only).
    public var merges: [String]
    /// Piece scores in id order (SentencePiece only; higher is preferred).
    public var scores: [Float]
    /// Whether SentencePiece puts a `▁` before the text (`add_dummy_prefix`, GGUF `tokenizer.ggml.add_space_prefix`).
    public var addSpacePrefix: Bool
    /// Whether a Unigram Viterbi sums path scores in Double, as Hugging Face `tokenizers` does
    /// (set for a `tokenizer.json`), rather than in Float as `sentencepiece` and llama.cpp do.
    public var unigramDoublePrecision = false
    /// Whether the `▁` prefix is left out when the text already starts with a space, as Hugging
    /// Face's `Metaspace` pre-tokenizer does (set for such a `tokenizer.json`).
    public var spacePrefixUnlessLeadingSpace = false
    /// Whether SentencePiece drops leading and trailing spaces and collapses runs of spaces
    /// (`remove_extra_whitespaces`, GGUF `tokenizer.ggml.remove_extra_whitespaces`).
    public var removeExtraWhitespaces: Bool
    /// GGUF token types (1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused, 6 byte), if known.
    public var tokenTypes: [Int32]
    /// The pre-tokenizer, by its llama.cpp name (`smollm`, `gpt2`, `llama-bpe`, `qwen2`, ...).
    public var preTokenizer: String
    /// Special token ids.
    public var bosID: Int32?, eosID: Int32?, unknownID: Int32?, paddingID: Int32?
    /// Whether `encode` prepends BOS.
    public var addBOS: Bool

    /// Creates a byte-level BPE vocabulary.
    public init(
        tokens: [String], merges: [String], tokenTypes: [Int32] = [], preTokenizer: String,
        bosID: Int32? = nil, eosID: Int32? = nil, unknownID: Int32? = nil, paddingID: Int32? = nil,
        addBOS: Bool = false
    ) {
        kind = .byteLevelBPE
        scores = []
        addSpacePrefix = false
        removeExtraWhitespaces = false
        self.tokens = tokens
        self.merges = merges
        self.tokenTypes = tokenTypes
        self.preTokenizer = preTokenizer
        self.bosID = bosID
        self.eosID = eosID
        self.unknownID = unknownID
        self.paddingID = paddingID
        self.addBOS = addBOS
    }

    /// Creates a SentencePiece vocabulary (`kind` Unigram or BPE) from pieces, scores and types.
    public init(
        sentencePiece kind: TokenizerKind, tokens: [String], scores: [Float], tokenTypes: [Int32],
        addSpacePrefix: Bool = true, removeExtraWhitespaces: Bool = false,
        bosID: Int32? = nil, eosID: Int32? = nil, unknownID: Int32? = nil, paddingID: Int32? = nil,
        addBOS: Bool = false
    ) {
        self.kind = kind
        self.tokens = tokens
        merges = []
        self.scores = scores
        self.tokenTypes = tokenTypes
        preTokenizer = "default"
        self.addSpacePrefix = addSpacePrefix
        self.removeExtraWhitespaces = removeExtraWhitespaces
        self.bosID = bosID
        self.eosID = eosID
        self.unknownID = unknownID
        self.paddingID = paddingID
        self.addBOS = addBOS
    }

    /// The GGUF token type of `id` (normal when the vocabulary has no types).
    public func type(of id: Int) -> TokenType {
        id < tokenTypes.count ? TokenType(rawValue: tokenTypes[id]) ?? .normal : .normal
    }
}

/// GGUF / llama.cpp token types.
public enum TokenType: Int32, Sendable {
    /// An ordinary token.
    case normal = 1
    /// The unknown token.
    case unknown = 2
    /// A control token (`<|endoftext|>`, `<|im_start|>`): only parsed from text on request, not rendered by default.
    case control = 3
    /// A user-defined token: always parsed from text, stored and rendered as plain text.
    case userDefined = 4
    /// An unused slot.
    case unused = 5
    /// A byte token.
    case byte = 6
}
