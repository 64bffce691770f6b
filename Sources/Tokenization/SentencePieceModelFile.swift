extension BPEVocabulary {
    /// Reads a SentencePiece `tokenizer.model` (the serialized `ModelProto`): pieces, scores and
    /// types, the model type (Unigram or BPE), the special ids and the normalizer settings.
    ///
    /// - Throws: `TokenizerError` naming the field at fault when the data is not a SentencePiece
    ///   model, or uses what Shears does not reproduce (a character-map normalizer such as
    ///   `nmt_nfkc`, whitespace as suffix, WORD/CHAR models).
    public init(sentencePieceModel data: [UInt8]) throws(TokenizerError) {
        var tokens: [String] = [], scores: [Float] = [], types: [Int32] = []
        var trainer = ArraySlice<UInt8>(), normalizer = ArraySlice<UInt8>()
        var reader = ProtobufReader(data[...])
        do throws(TokenizerError) {
            while let entry = try reader.next() {
                let (field, value) = entry
                switch field {
                case 1:
                    guard let bytes = value.bytes else {
                        throw TokenizerError("pieces[\(tokens.count)] is not a message")
                    }
                    let piece = try Self.piece(bytes, index: tokens.count)
                    tokens.append(piece.text)
                    scores.append(piece.score)
                    types.append(piece.type)
                case 2: trainer = value.bytes ?? []
                case 3: normalizer = value.bytes ?? []
                default: continue
                }
            }
        } catch {
            throw TokenizerError("not a SentencePiece model (ModelProto): \(error.message)")
        }
        guard !tokens.isEmpty else {
            throw TokenizerError("not a SentencePiece model (ModelProto): it has no pieces (field 1)")
        }
        var modelType: Int64 = 1, byteFallback = false, suffix = false
        var ids: [Int: Int64] = [40: 0, 41: 1, 42: 2, 43: -1]
        var trainerReader = ProtobufReader(trainer)
        while let entry = try trainerReader.next() {
            let (field, value) = entry
            switch field {
            case 3: modelType = value.integer ?? 1
            case 35: byteFallback = (value.integer ?? 0) != 0
            case 24: suffix = (value.integer ?? 0) != 0
            case 40, 41, 42, 43: ids[field] = Int64(Int32(truncatingIfNeeded: value.integer ?? -1))
            default: continue
            }
        }
        var addDummyPrefix = true, removeExtraWhitespaces = true, escapeWhitespaces = true
        var charsmap = 0, name = ""
        var normalizerReader = ProtobufReader(normalizer)
        while let entry = try normalizerReader.next() {
            let (field, value) = entry
            switch field {
            case 1: name = String(decoding: value.bytes ?? [], as: UTF8.self)
            case 2: charsmap = value.bytes?.count ?? 0
            case 3: addDummyPrefix = (value.integer ?? 1) != 0
            case 4: removeExtraWhitespaces = (value.integer ?? 1) != 0
            case 5: escapeWhitespaces = (value.integer ?? 1) != 0
            default: continue
            }
        }
        let kind: TokenizerKind
        switch modelType {
        case 1: kind = .sentencePieceUnigram
        case 2: kind = .sentencePieceBPE
        default:
            throw TokenizerError(
                "trainer_spec.model_type = \(modelType) is not supported (only UNIGRAM = 1 and BPE = 2)")
        }
        guard charsmap == 0 else {
            throw TokenizerError(
                "normalizer_spec.precompiled_charsmap: the '\(name)' normalization (\(charsmap) bytes of character map) "
                    + "is not supported; only models trained with normalization_rule_name=identity are")
        }
        guard escapeWhitespaces, !suffix else {
            throw TokenizerError(
                escapeWhitespaces
                    ? "trainer_spec.treat_whitespace_as_suffix = true is not supported"
                    : "normalizer_spec.escape_whitespaces = false is not supported")
        }
        let hasBytes = types.contains(TokenType.byte.rawValue)
        if hasBytes != byteFallback {
            throw TokenizerError(
                "trainer_spec.byte_fallback = \(byteFallback) but the model \(hasBytes ? "has" : "has no") byte pieces")
        }
        func id(_ field: Int, _ name: String) throws(TokenizerError) -> Int32? {
            guard let value = ids[field], value >= 0 else { return nil }
            guard value < tokens.count else {
                throw TokenizerError("trainer_spec.\(name) = \(value) is outside the \(tokens.count) pieces")
            }
            return Int32(value)
        }
        self.init(
            sentencePiece: kind, tokens: tokens, scores: scores, tokenTypes: types,
            addSpacePrefix: addDummyPrefix, removeExtraWhitespaces: removeExtraWhitespaces,
            bosID: try id(41, "bos_id"), eosID: try id(42, "eos_id"), unknownID: try id(40, "unk_id"),
            paddingID: try id(43, "pad_id"))
    }

    /// One `ModelProto.SentencePiece` message.
    private static func piece(
        _ bytes: ArraySlice<UInt8>, index: Int
    ) throws(TokenizerError) -> (
        text: String, score: Float, type: Int32
    ) {
        var text: String?, score: Float = 0, type: Int32 = 1
        var reader = ProtobufReader(bytes)
        while let entry = try reader.next() {
            let (field, value) = entry
            switch field {
            case 1:
                guard let utf8 = value.bytes, let string = String(validating: utf8, as: UTF8.self) else {
                    throw TokenizerError("pieces[\(index)].piece is not UTF-8 text")
                }
                text = string
            case 2:
                guard let float = value.float else { throw TokenizerError("pieces[\(index)].score is not a float") }
                score = float
            case 3:
                guard let raw = value.integer, (1...6).contains(raw) else {
                    throw TokenizerError("pieces[\(index)].type is not a SentencePiece piece type (1...6)")
                }
                type = Int32(raw)
            default: continue
            }
        }
        guard let text, !text.isEmpty else { throw TokenizerError("pieces[\(index)].piece is missing or empty") }
        return (text, score, type)
    }
}
