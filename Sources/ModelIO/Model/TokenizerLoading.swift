import Tokenization

extension BPEVocabulary {
    /// Reads the tokenizer stored in GGUF metadata (`tokenizer.ggml.*`); only byte-level BPE
    /// (`tokenizer.ggml.model = gpt2`) is supported.
    ///
    /// A missing `tokenizer.ggml.pre` means llama.cpp's `default` (GPT-2 splitting); a missing
    /// `tokenizer.ggml.add_bos_token` means no BOS, except for `llama-bpe` with a BOS id, as in llama.cpp.
    ///
    /// - Throws: `ModelIOError` naming `path` and the key at fault.
    public init(gguf metadata: GGUFMetadata, path: String) throws(ModelIOError) {
        let reader = TokenizerMetadataReader(metadata: metadata, path: path)
        guard let model = try reader.string("tokenizer.ggml.model") else {
            throw ModelIOError(path: path, item: "tokenizer.ggml.model", "the file has no tokenizer")
        }
        guard model == "gpt2" else {
            let kind = model == "llama" ? "SentencePiece ('llama') tokenizers are" : "tokenizer model '\(model)' is"
            throw ModelIOError(
                path: path, item: "tokenizer.ggml.model",
                "\(kind) not supported yet; only byte-level BPE ('gpt2') is")
        }
        guard let tokens = try reader.strings("tokenizer.ggml.tokens") else {
            throw ModelIOError(path: path, item: "tokenizer.ggml.tokens", "the token list is missing")
        }
        guard let merges = try reader.strings("tokenizer.ggml.merges") else {
            throw ModelIOError(path: path, item: "tokenizer.ggml.merges", "the merge list is missing")
        }
        let types = try reader.integers("tokenizer.ggml.token_type") ?? []
        if !types.isEmpty && types.count != tokens.count {
            throw ModelIOError(
                path: path, item: "tokenizer.ggml.token_type",
                "\(types.count) token types for \(tokens.count) tokens")
        }
        let preTokenizer = try reader.string("tokenizer.ggml.pre") ?? "default"
        let bosID = try reader.tokenID("tokenizer.ggml.bos_token_id", count: tokens.count)
        let addBOS =
            try reader.bool("tokenizer.ggml.add_bos_token")
            ?? (bosID != nil && (try? PreTokenizer(name: preTokenizer)) == .llamaBPE)
        if addBOS && bosID == nil {
            throw ModelIOError(
                path: path, item: "tokenizer.ggml.add_bos_token",
                "BOS is to be added but there is no tokenizer.ggml.bos_token_id")
        }
        self.init(
            tokens: tokens, merges: merges, tokenTypes: types.map { Int32(truncatingIfNeeded: $0) },
            preTokenizer: preTokenizer, bosID: bosID,
            eosID: try reader.tokenID("tokenizer.ggml.eos_token_id", count: tokens.count),
            unknownID: try reader.tokenID("tokenizer.ggml.unknown_token_id", count: tokens.count),
            paddingID: try reader.tokenID("tokenizer.ggml.padding_token_id", count: tokens.count),
            addBOS: addBOS
        )
    }
}

extension Tokenizer {
    /// Builds the tokenizer stored in GGUF metadata, reporting any problem as a `ModelIOError`
    /// about `path` (the key at fault, or `tokenizer` for an inconsistent vocabulary).
    public convenience init(gguf metadata: GGUFMetadata, path: String) throws(ModelIOError) {
        let vocabulary = try BPEVocabulary(gguf: metadata, path: path)
        do {
            try self.init(vocabulary: vocabulary)
        } catch {
            throw ModelIOError(path: path, item: "tokenizer", error.message)
        }
    }
}

/// Typed access to `tokenizer.ggml.*` keys, with errors that name the file and the key.
private struct TokenizerMetadataReader {
    let metadata: GGUFMetadata
    let path: String

    func string(_ key: String) throws(ModelIOError) -> String? {
        guard let value = metadata[key] else { return nil }
        guard let string = value.string else {
            throw ModelIOError(path: path, item: key, "expected a string, found \(value.type)")
        }
        return string
    }

    func bool(_ key: String) throws(ModelIOError) -> Bool? {
        guard let value = metadata[key] else { return nil }
        guard let bool = value.bool else {
            throw ModelIOError(path: path, item: key, "expected a bool, found \(value.type)")
        }
        return bool
    }

    func strings(_ key: String) throws(ModelIOError) -> [String]? {
        guard let value = metadata[key] else { return nil }
        guard case .array(.string, let elements) = value else {
            throw ModelIOError(path: path, item: key, "expected an array of strings, found \(Self.describe(value))")
        }
        return elements.map { $0.string ?? "" }
    }

    func integers(_ key: String) throws(ModelIOError) -> [Int]? {
        guard let value = metadata[key] else { return nil }
        guard let elements = value.array else {
            throw ModelIOError(path: path, item: key, "expected an array of integers, found \(value.type)")
        }
        var result: [Int] = []
        result.reserveCapacity(elements.count)
        for element in elements {
            guard let integer = element.int, element.type != .bool else {
                throw ModelIOError(
                    path: path, item: key, "expected an array of integers, found \(Self.describe(value))")
            }
            result.append(integer)
        }
        return result
    }

    /// A token id key, checked against the vocabulary size.
    func tokenID(_ key: String, count: Int) throws(ModelIOError) -> Int32? {
        guard let value = metadata[key] else { return nil }
        guard let id = value.int, value.type != .bool else {
            throw ModelIOError(path: path, item: key, "expected a token id, found \(value.type)")
        }
        guard (0..<count).contains(id) else {
            throw ModelIOError(path: path, item: key, "token id \(id) is outside the vocabulary of \(count) tokens")
        }
        return Int32(id)
    }

    private static func describe(_ value: GGUFValue) -> String {
        if case .array(let type, _) = value { "an array of \(type)" } else { "\(value.type)" }
    }
}
