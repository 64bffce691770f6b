import Tokenization

extension BPEVocabulary {
    /// Reads the tokenizer stored in GGUF metadata (`tokenizer.ggml.*`): byte-level BPE
    /// (`tokenizer.ggml.model = gpt2`), SentencePiece BPE (`llama`, llama.cpp's SPM) or
    /// SentencePiece Unigram (`t5`, llama.cpp's UGM).
    ///
    /// A missing `tokenizer.ggml.pre` means llama.cpp's `default` (GPT-2 splitting); a missing
    /// `tokenizer.ggml.add_bos_token` means no BOS, except for `llama-bpe` with a BOS id and for
    /// `llama`, as in llama.cpp.
    ///
    /// - Throws: `ModelIOError` naming `path` and the key at fault.
    public init(gguf metadata: GGUFMetadata, path: String) throws(ModelIOError) {
        let reader = TokenizerMetadataReader(metadata: metadata, path: path)
        guard let model = try reader.string("tokenizer.ggml.model") else {
            throw ModelIOError(path: path, item: "tokenizer.ggml.model", "the file has no tokenizer")
        }
        guard let kind = TokenizerKind(rawValue: model) else {
            throw ModelIOError(
                path: path, item: "tokenizer.ggml.model",
                "tokenizer model '\(model)' is not supported; Shears reads 'gpt2' (byte-level BPE), "
                    + "'llama' (SentencePiece BPE) and 't5' (SentencePiece Unigram)")
        }
        guard let tokens = try reader.strings("tokenizer.ggml.tokens") else {
            throw ModelIOError(path: path, item: "tokenizer.ggml.tokens", "the token list is missing")
        }
        if kind.isSentencePiece {
            try self.init(sentencePiece: kind, gguf: reader, tokens: tokens)
            return
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

extension BPEVocabulary {
    /// The SentencePiece part of `init(gguf:path:)`: scores, types, ids and the normalizer keys.
    private init(
        sentencePiece kind: TokenizerKind, gguf reader: TokenizerMetadataReader, tokens: [String]
    )
        throws(ModelIOError)
    {
        let path = reader.path
        guard let scores = try reader.floats("tokenizer.ggml.scores"), scores.count == tokens.count else {
            throw ModelIOError(
                path: path, item: "tokenizer.ggml.scores",
                "a SentencePiece tokenizer needs one score per token (\(tokens.count))")
        }
        guard let types = try reader.integers("tokenizer.ggml.token_type"), types.count == tokens.count else {
            throw ModelIOError(
                path: path, item: "tokenizer.ggml.token_type",
                "a SentencePiece tokenizer needs one token type per token (\(tokens.count))")
        }
        if let charsmap = reader.metadata["tokenizer.ggml.precompiled_charsmap"], charsmap.array?.isEmpty == false {
            throw ModelIOError(
                path: path, item: "tokenizer.ggml.precompiled_charsmap",
                "character-map normalization (such as NFKC) is not supported")
        }
        // llama.cpp's defaults for vocabularies without the keys: SPM adds BOS (<s> = 1, </s> = 2,
        // <unk> = 0); UGM adds EOS (</s> = 1, <unk> = 2, <pad> = 0).
        let isSPM = kind == .sentencePieceBPE
        if try reader.bool("tokenizer.ggml.add_eos_token") ?? !isSPM {
            throw ModelIOError(
                path: path, item: "tokenizer.ggml.add_eos_token",
                "adding EOS to every text (llama.cpp's default for '\(kind.ggufName)' without the key) is not supported"
            )
        }
        let count = tokens.count
        let bosID = try reader.tokenID("tokenizer.ggml.bos_token_id", count: count) ?? (isSPM ? 1 : nil)
        let addBOS = try reader.bool("tokenizer.ggml.add_bos_token") ?? isSPM
        if addBOS && bosID == nil {
            throw ModelIOError(
                path: path, item: "tokenizer.ggml.add_bos_token",
                "BOS is to be added but there is no tokenizer.ggml.bos_token_id")
        }
        self.init(
            sentencePiece: kind, tokens: tokens, scores: scores,
            tokenTypes: types.map { Int32(truncatingIfNeeded: $0) },
            addSpacePrefix: try reader.bool("tokenizer.ggml.add_space_prefix") ?? true,
            removeExtraWhitespaces: try reader.bool("tokenizer.ggml.remove_extra_whitespaces") ?? false,
            bosID: bosID,
            eosID: try reader.tokenID("tokenizer.ggml.eos_token_id", count: count) ?? (isSPM ? 2 : 1),
            unknownID: try reader.tokenID("tokenizer.ggml.unknown_token_id", count: count) ?? (isSPM ? 0 : 2),
            paddingID: try reader.tokenID("tokenizer.ggml.padding_token_id", count: count) ?? (isSPM ? nil : 0),
            addBOS: addBOS)
    }
}

extension BPEVocabulary {
    /// The `tokenizer.ggml.*` keys that describe this vocabulary as llama.cpp reads them (the
    /// inverse of `init(gguf:path:)`): byte-level BPE with its merges and pre-tokenizer,
    /// SentencePiece with scores, types and the space-prefix and whitespace settings.
    public var ggufMetadata: [(String, GGUFValue)] {
        var entries: [(String, GGUFValue)] = [
            ("tokenizer.ggml.model", .string(kind.ggufName)),
            ("tokenizer.ggml.tokens", .array(.string, tokens.map { .string($0) })),
        ]
        if kind.isSentencePiece {
            entries += [
                ("tokenizer.ggml.scores", .array(.float32, scores.map { .float32($0) })),
                ("tokenizer.ggml.token_type", .array(.int32, tokenTypes.map { .int32($0) })),
                ("tokenizer.ggml.add_space_prefix", .bool(addSpacePrefix)),
                ("tokenizer.ggml.remove_extra_whitespaces", .bool(removeExtraWhitespaces)),
                ("tokenizer.ggml.add_eos_token", .bool(false)),
            ]
        } else {
            // llama.cpp refuses the alias `gpt2`: write its own name.
            let pre = preTokenizer == "gpt2" ? PreTokenizer.gpt2.rawValue : preTokenizer
            entries.insert(("tokenizer.ggml.pre", .string(pre)), at: 1)
            if !tokenTypes.isEmpty {
                entries.append(("tokenizer.ggml.token_type", .array(.int32, tokenTypes.map { .int32($0) })))
            }
            entries.append(("tokenizer.ggml.merges", .array(.string, merges.map { .string($0) })))
        }
        for (key, id) in [("bos", bosID), ("eos", eosID), ("unknown", unknownID), ("padding", paddingID)] {
            if let id { entries.append(("tokenizer.ggml.\(key)_token_id", .uint32(UInt32(bitPattern: id)))) }
        }
        entries.append(("tokenizer.ggml.add_bos_token", .bool(addBOS)))
        return entries
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

    func floats(_ key: String) throws(ModelIOError) -> [Float]? {
        guard let value = metadata[key] else { return nil }
        guard case .array(.float32, let elements) = value else {
            throw ModelIOError(path: path, item: key, "expected an array of float32, found \(Self.describe(value))")
        }
        return elements.map { if case .float32(let score) = $0 { score } else { 0 } }
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
