import JSON

extension BPEVocabulary {
    /// Reads the vocabulary of a Hugging Face `tokenizer.json` (model type BPE, byte-level, or a
    /// SentencePiece conversion: Unigram, or BPE with byte fallback); throws when it uses a
    /// feature we cannot reproduce exactly.
    public init(huggingFaceJSON data: [UInt8]) throws(TokenizerError) {
        let document: JSONValue
        do throws(JSONParseError) {
            document = try JSONParser.parse(data)
        } catch {
            throw TokenizerError("tokenizer.json is not valid JSON: \(error.message)")
        }
        if let model = document["model"],
            model["type"]?.string == "Unigram"
                || (model["type"]?.string == "BPE" && model["byte_fallback"]?.bool == true)
        {
            try self.init(sentencePieceJSON: document, model: model)
            return
        }
        guard let model = document["model"], model["type"]?.string == "BPE" else {
            throw TokenizerError(
                "tokenizer.json: model.type is \(document["model"]?["type"]?.summary ?? "missing"), expected \"BPE\" or \"Unigram\""
            )
        }
        for (key, harmless) in [
            ("dropout", JSONValue.null), ("byte_fallback", .bool(false)),
            ("continuing_subword_prefix", .null), ("end_of_word_suffix", .null),
        ] {
            if let value = model[key], value != harmless, !(value == .string("") && harmless == .null) {
                throw TokenizerError("tokenizer.json: model.\(key) = \(value.summary) is not supported")
            }
        }
        if let normalizer = document["normalizer"], !normalizer.isNull {
            throw TokenizerError("tokenizer.json: normalizer \(normalizer.summary) is not supported")
        }
        if let decoder = document["decoder"], !decoder.isNull, decoder["type"]?.string != "ByteLevel" {
            throw TokenizerError("tokenizer.json: decoder \(decoder.summary) is not supported (expected ByteLevel)")
        }
        let preTokenizer = try PreTokenizer(huggingFace: document["pre_tokenizer"] ?? .null)
        if (model["ignore_merges"]?.bool ?? false) != preTokenizer.ignoresMerges {
            throw TokenizerError(
                "tokenizer.json: model.ignore_merges = \(model["ignore_merges"]?.summary ?? "false") "
                    + "does not match the \(preTokenizer.rawValue) pre-tokenizer, which we reproduce with ignore_merges = \(preTokenizer.ignoresMerges)"
            )
        }

        var tokensByID: [Int: String] = [:]
        var types: [Int: TokenType] = [:]
        guard let vocab = model["vocab"]?.members else {
            throw TokenizerError("tokenizer.json: model.vocab is missing")
        }
        var vocabTokens = Set<String>(minimumCapacity: vocab.count)
        for (token, value) in vocab {
            guard vocabTokens.insert(token).inserted else {
                throw TokenizerError("tokenizer.json: model.vocab lists \(JSONWriter.quoted(token)) twice")
            }
            guard let id = value.int, id >= 0 else {
                throw TokenizerError(
                    "tokenizer.json: model.vocab[\(JSONWriter.quoted(token))] = \(value.summary) is not a token id")
            }
            if let other = tokensByID[id] {
                throw TokenizerError(
                    "tokenizer.json: model.vocab gives id \(id) to both \(JSONWriter.quoted(other)) and \(JSONWriter.quoted(token))"
                )
            }
            tokensByID[id] = token
        }
        let tokens = try Self.addingTokens(of: document, to: &tokensByID, types: &types)
        let count = tokens.count

        var merges: [String] = []
        for merge in model["merges"]?.array ?? [] {
            if let text = merge.string {
                merges.append(text)
            } else if let pair = merge.array, pair.count == 2, let left = pair[0].string, let right = pair[1].string {
                merges.append(left + " " + right)
            } else {
                throw TokenizerError("tokenizer.json: merge \(merge.summary) is neither \"a b\" nor [\"a\", \"b\"]")
            }
        }

        let ids = Dictionary(tokens.enumerated().map { ($1, Int32($0)) }, uniquingKeysWith: { first, _ in first })
        var unknownID: Int32?
        if let unknown = model["unk_token"]?.string {
            guard let id = ids[unknown] else {
                throw TokenizerError("tokenizer.json: unk_token \(JSONWriter.quoted(unknown)) is not in the vocabulary")
            }
            unknownID = id
        }
        let bosID = try Self.prependedToken(document["post_processor"] ?? .null, ids: ids)
        self.init(
            tokens: tokens, merges: merges,
            tokenTypes: (0..<count).map { types[$0]?.rawValue ?? TokenType.normal.rawValue },
            preTokenizer: preTokenizer.rawValue, bosID: bosID, unknownID: unknownID, addBOS: bosID != nil)
    }

    /// The token a `post_processor` puts before every sequence (BOS), or nil when it adds none.
    private static func prependedToken(_ processor: JSONValue, ids: [String: Int32]) throws(TokenizerError) -> Int32? {
        var steps = [processor]
        if processor["type"]?.string == "Sequence", let inner = processor["processors"]?.array { steps = inner }
        var bosID: Int32?
        for step in steps where !step.isNull {
            switch step["type"]?.string {
            case "ByteLevel":
                continue
            case "TemplateProcessing":
                let single = step["single"]?.array ?? []
                let specials = single.compactMap { $0["SpecialToken"]?["id"]?.string }
                guard single.count == specials.count + 1, single.last?["Sequence"] != nil, specials.count <= 1 else {
                    throw TokenizerError(
                        "tokenizer.json: post_processor template \(JSONValue.array(single).summary) is not supported (only a BOS before the text)"
                    )
                }
                if let name = specials.first {
                    let tokenIDs = step["special_tokens"]?[name]?["ids"]?.array?.compactMap(\.int)
                    guard let tokenIDs, tokenIDs.count == 1, ids.values.contains(Int32(tokenIDs[0])) else {
                        throw TokenizerError(
                            "tokenizer.json: post_processor special token \(JSONWriter.quoted(name)) has no single id in the vocabulary"
                        )
                    }
                    bosID = Int32(tokenIDs[0])
                }
            default:
                throw TokenizerError("tokenizer.json: post_processor \(step.summary) is not supported")
            }
        }
        return bosID
    }

    /// Adds `tokenizer.json`'s `added_tokens` to the model's `tokensByID` (special ones as control
    /// tokens, the others user-defined, in `types`) and returns the tokens in id order.
    ///
    /// - Throws: `TokenizerError` for an added token without id or content, or an id that no token has.
    static func addingTokens(
        of document: JSONValue, to tokensByID: inout [Int: String], types: inout [Int: TokenType]
    ) throws(TokenizerError) -> [String] {
        for added in document["added_tokens"]?.array ?? [] {
            guard let id = added["id"]?.int, id >= 0, let content = added["content"]?.string else {
                throw TokenizerError("tokenizer.json: added token \(added.summary) has no id or content")
            }
            tokensByID[id] = content
            types[id] = added["special"]?.bool == true ? .control : .userDefined
        }
        let count = (tokensByID.keys.max() ?? -1) + 1
        var tokens: [String] = []
        tokens.reserveCapacity(count)
        for id in 0..<count {
            guard let token = tokensByID[id] else { throw TokenizerError("tokenizer.json: no token has id \(id)") }
            tokens.append(token)
        }
        return tokens
    }
}
