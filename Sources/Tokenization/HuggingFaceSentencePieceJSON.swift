import JSON

extension BPEVocabulary {
    /// Reads a `tokenizer.json` converted from SentencePiece: a `Unigram` model, or a `BPE` model
    /// with `byte_fallback`, with the `▁` prefix and space escaping as transformers'
    /// `LlamaConverter` writes them (legacy: a `Prepend("▁")` + `Replace(" ", "▁")` normalizer;
    /// or a `Metaspace` pre-tokenizer). BPE scores are rebuilt from the merge order: the first
    /// merge making a piece ranks it.
    init(sentencePieceJSON document: JSONValue, model: JSONValue) throws(TokenizerError) {
        let isUnigram = model["type"]?.string == "Unigram"
        var tokensByID: [Int: String] = [:], scoresByID: [Int: Float] = [:]
        if isUnigram {
            guard let vocab = model["vocab"]?.array else {
                throw TokenizerError("tokenizer.json: model.vocab is missing")
            }
            for (id, entry) in vocab.enumerated() {
                guard let pair = entry.array, pair.count == 2, let piece = pair[0].string, let score = pair[1].double
                else {
                    throw TokenizerError("tokenizer.json: model.vocab[\(id)] = \(entry.summary) is not [piece, score]")
                }
                tokensByID[id] = piece
                scoresByID[id] = Float(score)
            }
        } else {
            guard let vocab = model["vocab"]?.members else {
                throw TokenizerError("tokenizer.json: model.vocab is missing")
            }
            for (piece, value) in vocab {
                guard let id = value.int, id >= 0, tokensByID[id] == nil else {
                    throw TokenizerError(
                        "tokenizer.json: model.vocab[\(JSONWriter.quoted(piece))] = \(value.summary) is not a new token id"
                    )
                }
                tokensByID[id] = piece
            }
        }
        var types: [Int: TokenType] = [:]
        let tokens = try Self.addingTokens(of: document, to: &tokensByID, types: &types)
        let count = tokens.count
        let ids = Dictionary(tokens.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
        var unknownID: Int?
        if isUnigram {
            unknownID = model["unk_id"]?.int
        } else if let unknown = model["unk_token"]?.string {
            unknownID = ids[unknown]
        }
        if let id = unknownID {
            guard (0..<count).contains(id) else {
                throw TokenizerError("tokenizer.json: the unknown token id \(id) is outside the vocabulary")
            }
            // An unknown token that is not an added token is an ordinary piece to `tokenizers`
            // (Unigram can match "<unk>" written in the text), so it keeps the normal type there.
            if types[id] != nil { types[id] = .unknown }
        }
        for (id, token) in tokens.enumerated() where types[id] == nil && SentencePieceEncoder.byteValue(token) != nil {
            types[id] = .byte
        }

        var scores = (0..<count).map { scoresByID[$0] ?? 0 }
        if !isUnigram {
            let merges = model["merges"]?.array ?? []
            var ranked = Set<Int>()
            for id in 0..<count { scores[id] = -Float(merges.count + id) }
            for (rank, merge) in merges.enumerated() {
                let pair = merge.array?.compactMap(\.string) ?? merge.string.map { Self.splitMerge($0) } ?? []
                guard pair.count == 2, let id = ids[pair[0] + pair[1]] else {
                    throw TokenizerError(
                        "tokenizer.json: merge \(merge.summary) does not make a token of the vocabulary")
                }
                if ranked.insert(id).inserted { scores[id] = -Float(rank) }
            }
        }
        self.init(
            sentencePiece: isUnigram ? .sentencePieceUnigram : .sentencePieceBPE, tokens: tokens, scores: scores,
            tokenTypes: (0..<count).map { types[$0]?.rawValue ?? TokenType.normal.rawValue },
            addSpacePrefix: try Self.spacePrefix(document), unknownID: unknownID.map { Int32($0) })
        unigramDoublePrecision = isUnigram
        spacePrefixUnlessLeadingSpace = document["pre_tokenizer"]?["type"]?.string == "Metaspace"
    }

    /// Splits a `"left right"` merge at its single space.
    private static func splitMerge(_ merge: String) -> [String] {
        merge.split(separator: " ", omittingEmptySubsequences: false).map(String.init)
    }

    /// Whether the normalizer / pre-tokenizer put a `▁` before the text; refuses other pipelines.
    private static func spacePrefix(_ document: JSONValue) throws(TokenizerError) -> Bool {
        let normalizer = document["normalizer"] ?? .null, preTokenizer = document["pre_tokenizer"] ?? .null
        if preTokenizer.isNull {
            let steps = normalizer["type"]?.string == "Sequence" ? normalizer["normalizers"]?.array ?? [] : [normalizer]
            let prepend = steps.first { $0["type"]?.string == "Prepend" }
            let replace = steps.last { $0["type"]?.string == "Replace" }
            let known = steps.allSatisfy { $0["type"]?.string == "Prepend" || $0["type"]?.string == "Replace" }
            if known, steps.count == (prepend == nil ? 1 : 2), prepend?["prepend"]?.string ?? "▁" == "▁",
                replace?["pattern"]?["String"]?.string == " ", replace?["content"]?.string == "▁"
            {
                return prepend != nil
            }
        } else if normalizer.isNull, preTokenizer["type"]?.string == "Metaspace",
            preTokenizer["replacement"]?.string == "▁", preTokenizer["split"]?.bool != true
        {
            return preTokenizer["prepend_scheme"]?.string != "never"
        }
        throw TokenizerError(
            "tokenizer.json: normalizer \(normalizer.summary) with pre_tokenizer \(preTokenizer.summary) is not supported "
                + "for a SentencePiece model (expected Prepend(▁) + Replace(' ', ▁), or a Metaspace pre-tokenizer)")
    }
}
