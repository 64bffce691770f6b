/// A byte-level BPE tokenizer (GPT-2 style), built from GGUF metadata or a Hugging Face
/// `tokenizer.json`.
///
/// SKELETON: the tokenizer helper replaces this file.
public final class Tokenizer: Sendable {
    /// The vocabulary it was built from.
    public let vocabulary: BPEVocabulary

    /// Builds a tokenizer from a vocabulary.
    public init(vocabulary: BPEVocabulary) throws(TokenizerError) {
        self.vocabulary = vocabulary
    }

    /// Number of tokens.
    public var vocabularySize: Int { vocabulary.tokens.count }

    /// Encodes text to token ids (no BOS/EOS added unless the vocabulary says so).
    public func encode(_ text: String) -> [Int32] { [] }

    /// Decodes token ids to text.
    public func decode(_ ids: [Int32]) -> String { "" }
}

/// The data a byte-level BPE tokenizer is made of.
public struct BPEVocabulary: Sendable, Equatable {
    /// Token strings in id order, in GPT-2's byte-to-unicode alphabet.
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
    public init(tokens: [String], merges: [String], tokenTypes: [Int32] = [], preTokenizer: String,
                bosID: Int32? = nil, eosID: Int32? = nil, unknownID: Int32? = nil, paddingID: Int32? = nil,
                addBOS: Bool = false) {
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
}

/// An error building a tokenizer or reading tokenizer data.
public struct TokenizerError: Error, CustomStringConvertible, Sendable {
    /// What is wrong.
    public var message: String
    /// Creates an error.
    public init(_ message: String) { self.message = message }
    /// The message.
    public var description: String { message }
}

extension BPEVocabulary {
    /// Reads the vocabulary of a Hugging Face `tokenizer.json` (model type BPE, byte-level).
    /// SKELETON: the tokenizer helper implements this.
    public init(huggingFaceJSON data: [UInt8]) throws(TokenizerError) {
        throw TokenizerError("not implemented")
    }

    /// Renders this vocabulary as a Hugging Face `tokenizer.json` that `transformers` loads.
    /// SKELETON: the tokenizer helper implements this.
    public func huggingFaceJSON() -> [UInt8] { [] }
}
