/// The data a byte-level BPE tokenizer is made of.
public struct BPEVocabulary: Sendable, Equatable {
    /// Token strings in id order, in GPT-2's byte-to-unicode alphabet (user-defined and control
    /// tokens as plain text).
    public var tokens: [String]
    /// Merge rules in priority order, each `"left right"`.
    public var merges: [String]
    /// GGUF token types (1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused, 6 byte), if known.
    public var tokenTypes: [Int32]
    /// The pre-tokenizer, by its llama.cpp name (`smollm`, `gpt2`, `llama-bpe`, `qwen2`, ...).
    public var preTokenizer: String
    /// Special token ids.
    public var bosID: Int32?, eosID: Int32?, unknownID: Int32?, paddingID: Int32?
    /// Whether `encode` prepends BOS.
    public var addBOS: Bool

    /// Creates a vocabulary.
    public init(
        tokens: [String], merges: [String], tokenTypes: [Int32] = [], preTokenizer: String,
        bosID: Int32? = nil, eosID: Int32? = nil, unknownID: Int32? = nil, paddingID: Int32? = nil,
        addBOS: Bool = false
    ) {
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

    /// The GGUF token type of `id` (normal when the vocabulary has no types).
    public func type(of id: Int) -> TokenType {
        id < tokenTypes.count ? TokenType(rawValue: tokenTypes[id]) ?? .normal : .normal
    }
}

/// GGUF / llama.cpp token types.
public enum TokenType: Int32, Sendable {
    /// An ordinary BPE token.
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
