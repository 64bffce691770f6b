import ModelIO
import TestSupport
import Testing
import Tokenization

/// SentencePiece encoding, decoding and loading on small hand-made vocabularies whose results
/// can be worked out by hand.
@Suite struct SentencePieceEncodingTests {
    /// `<unk>`, `<s>`, `</s>`, then `extra` pieces with their scores (all normal).
    static func vocabulary(
        _ kind: TokenizerKind, _ extra: [(String, Float)], bytes: Bool = false
    ) -> BPEVocabulary {
        var tokens = ["<unk>", "<s>", "</s>"], scores: [Float] = [0, 0, 0], types: [Int32] = [2, 3, 3]
        if bytes {
            for byte in 0..<256 {
                tokens.append("<0x" + String(byte, radix: 16, uppercase: true).leftPadded(2) + ">")
                scores.append(0)
                types.append(6)
            }
        }
        for (piece, score) in extra {
            tokens.append(piece)
            scores.append(score)
            types.append(1)
        }
        return BPEVocabulary(
            sentencePiece: kind, tokens: tokens, scores: scores, tokenTypes: types, bosID: 1, eosID: 2, unknownID: 0)
    }

    @Test func unigramTakesTheBestScoringSegmentation() throws {
        // "▁ab" (-4.5) beats "▁" + "ab" (-2 - 4 = -6) and "▁" + "a" + "b" (-8).
        let tokenizer = try Tokenizer(
            vocabulary: Self.vocabulary(
                .sentencePieceUnigram, [("▁", -2), ("a", -3), ("b", -3), ("ab", -4), ("▁ab", -4.5), ("c", -1)]))
        let id = { (piece: String) -> Int32 in tokenizer.id(for: piece)! }
        let ab = id("▁ab"), c = id("c"), space = id("▁")
        #expect(tokenizer.encode("ab ab") == [ab, ab])
        #expect(tokenizer.encode("abc") == [ab, c])
        // Unknown characters: one <unk> per run, as sentencepiece merges them.
        let unknownRun: [Int32] = [ab, space, 0, space, c]
        #expect(tokenizer.encode("ab xy c") == unknownRun)
        #expect(tokenizer.encode("") == [])
        #expect(tokenizer.decode(tokenizer.encode("ab abc")) == "ab abc")
        #expect(tokenizer.decode([ab, 0]) == "ab \u{2047} ")
    }

    @Test("a long Unigram text keeps Float's precision: path scores are rebased past ±100,000")
    func unigramRebasesLongPaths() throws {
        // After 1,000 "x" at -1000 the path scores reach -10⁶, where a Float step is 0.0625: "ab"
        // (-2.02) and "a" + "b" (-2) would both round to the same sum, and the tie would go to "ab",
        // which starts first. Rebased to below 10⁵ in magnitude (a step of 0.0078), "a" + "b" wins as
        // in exact arithmetic, as sentencepiece 0.2.3 and tokenizers (Double) decide.
        var vocabulary = Self.vocabulary(
            .sentencePieceUnigram, [("▁", -1), ("x", -1000), ("a", -1), ("b", -1), ("ab", -2.02)])
        let text = String(repeating: "x", count: 1000) + "ab"
        for double in [false, true] {
            vocabulary.unigramDoublePrecision = double
            let tokenizer = try Tokenizer(vocabulary: vocabulary)
            let ids = tokenizer.encode(text)
            #expect(ids.count == 1003, "double \(double): \(ids.count) ids")
            #expect(Array(ids.suffix(2)) == [tokenizer.id(for: "a")!, tokenizer.id(for: "b")!], "double \(double)")
        }
    }

    @Test func bpeJoinsTheHighestScoringPieceFirst() throws {
        // "▁", "a", "b": "ab" scores higher than "▁a", so it is joined first and "▁ab" is not a piece.
        let first = try Tokenizer(
            vocabulary: Self.vocabulary(.sentencePieceBPE, [("▁", -1), ("a", -2), ("b", -3), ("ab", -4), ("▁a", -5)]))
        let firstExpected: [Int32] = [try #require(first.id(for: "▁")), try #require(first.id(for: "ab"))]
        #expect(first.encode("ab") == firstExpected)
        let second = try Tokenizer(
            vocabulary: Self.vocabulary(.sentencePieceBPE, [("▁", -1), ("a", -2), ("b", -3), ("ab", -6), ("▁a", -5)]))
        let secondExpected: [Int32] = [try #require(second.id(for: "▁a")), try #require(second.id(for: "b"))]
        #expect(second.encode("ab") == secondExpected)
    }

    @Test func bpeFallsBackToBytes() throws {
        let tokenizer = try Tokenizer(
            vocabulary: Self.vocabulary(.sentencePieceBPE, [("▁", -1), ("a", -2)], bytes: true))
        // "é" is U+00E9, bytes C3 A9; byte pieces start at id 3.
        let space = try #require(tokenizer.id(for: "▁")), a = try #require(tokenizer.id(for: "a"))
        let expected: [Int32] = [space, a, 3 + 0xC3, 3 + 0xA9]
        #expect(tokenizer.encode("aé") == expected)
        #expect(tokenizer.decode(tokenizer.encode("a é\n")) == "a é\n")
    }

    @Test func specialTokensAreTextUnlessParsed() throws {
        let tokenizer = try Tokenizer(
            vocabulary: Self.vocabulary(.sentencePieceBPE, [("▁", -1), ("a", -2), ("<", -3), ("s", -4), (">", -5)]))
        let plain = tokenizer.encode("a<s>a")
        #expect(!plain.contains(1) && plain.count == 6)
        // Parsed: each text piece gets its own "▁" prefix, as llama.cpp and transformers (legacy) do.
        let a = try #require(tokenizer.id(for: "a")), space = try #require(tokenizer.id(for: "▁"))
        let parsed: [Int32] = [space, a, 1, space, a]
        #expect(tokenizer.encode("a<s>a", parseSpecialTokens: true) == parsed)
    }

    @Test func modelProtoRoundTrip() throws {
        let vocabulary = Self.vocabulary(.sentencePieceUnigram, [("▁", -2), ("a", -3.25)])
        let proto = SentencePieceProto.model(vocabulary, modelType: 1)
        let read = try BPEVocabulary(sentencePieceModel: proto)
        #expect(read == vocabulary)
        #expect(
            try BPEVocabulary(sentencePieceModel: SentencePieceProto.model(vocabulary, modelType: 2)).kind
                == .sentencePieceBPE)
    }

    @Test func badModelProtoIsRefused() throws {
        func message(_ bytes: [UInt8]) -> String? {
            do {
                _ = try BPEVocabulary(sentencePieceModel: bytes)
                return nil
            } catch {
                return error.message
            }
        }
        #expect(message(Array("{\"model\": {}}\n".utf8))?.contains("not a SentencePiece model") == true)
        #expect(message([0x0A, 0x7F, 0x01])?.contains("not a SentencePiece model") == true)
        #expect(message([])?.contains("no pieces") == true)
        let vocabulary = Self.vocabulary(.sentencePieceUnigram, [("▁", -2)])
        #expect(message(SentencePieceProto.model(vocabulary, modelType: 3))?.contains("model_type") == true)
        #expect(
            message(SentencePieceProto.model(vocabulary, modelType: 1, charsmap: true))?.contains(
                "precompiled_charsmap") == true)
    }

    @Test func ggufKeysRoundTrip() throws {
        for kind in [TokenizerKind.sentencePieceBPE, .sentencePieceUnigram] {
            var vocabulary = Self.vocabulary(kind, [("▁", -1), ("a", -2)], bytes: true)
            vocabulary.addBOS = true
            vocabulary.paddingID = 0 // an absent key means 0 for llama.cpp's `t5`
            let metadata = GGUFMetadata(vocabulary.ggufMetadata)
            #expect(metadata["tokenizer.ggml.model"]?.string == kind.ggufName)
            #expect(try BPEVocabulary(gguf: metadata, path: "/m.gguf") == vocabulary)
        }
    }

    @Test func unknownGGUFTokenizerTypeNamesTheKey() throws {
        var metadata = GGUFMetadata(Self.vocabulary(.sentencePieceBPE, [("▁", -1)]).ggufMetadata)
        metadata["tokenizer.ggml.model"] = .string("rwkv")
        do {
            _ = try BPEVocabulary(gguf: metadata, path: "/models/m.gguf")
            Issue.record("an unknown tokenizer type was accepted")
        } catch {
            #expect(error.description.contains("/models/m.gguf") && error.description.contains("tokenizer.ggml.model"))
            #expect(error.description.contains("rwkv"))
        }
        metadata["tokenizer.ggml.model"] = .string("llama")
        metadata["tokenizer.ggml.scores"] = nil
        #expect(throws: ModelIOError.self) { try BPEVocabulary(gguf: metadata, path: "/models/m.gguf") }
    }

    @Test func modelWithSentencePieceTokenizerWritesGGUFWithIt() throws {
        var config = TinyModel.config
        let vocabulary = Self.vocabulary(.sentencePieceBPE, [("▁", -1), ("a", -2), ("b", -3), ("ab", -4)], bytes: true)
        config.vocabSize = vocabulary.tokens.count
        let model = try Model(
            config: config, tensors: TinyModel.tensors(config, seed: 3),
            metadata: TinyModel.metadata(config, vocabulary),
            tokenizer: try Tokenizer(vocabulary: vocabulary), sourcePath: "<tiny spm>")
        let directory = try TemporaryDirectory()
        let path = directory.path("spm.gguf")
        try ModelWriter.write(model, to: path, type: .f32)
        let read = try ModelLoader.load(path: path)
        #expect(read.tokenizer.vocabulary == vocabulary)
        #expect(read.tokenizer.encode("ab a\u{1F999}") == model.tokenizer.encode("ab a\u{1F999}"))
    }
}

extension String {
    fileprivate func leftPadded(_ width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}

/// Writes SentencePiece `ModelProto` bytes, for the reader's tests.
enum SentencePieceProto {
    static func varint(_ value: UInt64) -> [UInt8] {
        var value = value, bytes: [UInt8] = []
        while value >= 0x80 {
            bytes.append(UInt8(value & 0x7F) | 0x80)
            value >>= 7
        }
        return bytes + [UInt8(value)]
    }

    static func field(_ number: Int, bytes: [UInt8]) -> [UInt8] {
        varint(UInt64(number << 3 | 2)) + varint(UInt64(bytes.count)) + bytes
    }

    static func field(_ number: Int, varint value: Int64) -> [UInt8] {
        varint(UInt64(number << 3)) + varint(UInt64(bitPattern: value))
    }

    static func model(_ vocabulary: BPEVocabulary, modelType: Int64, charsmap: Bool = false) -> [UInt8] {
        var out: [UInt8] = []
        for (id, piece) in vocabulary.tokens.enumerated() {
            var message = field(1, bytes: Array(piece.utf8))
            message += varint(UInt64(2 << 3 | 5))
            withUnsafeBytes(of: vocabulary.scores[id].bitPattern.littleEndian) { message += $0 }
            message += field(3, varint: Int64(vocabulary.tokenTypes[id]))
            out += field(1, bytes: message)
        }
        out += field(
            2,
            bytes: field(3, varint: modelType) + field(35, varint: vocabulary.tokenTypes.contains(6) ? 1 : 0)
                + field(43, varint: -1))
        out += field(
            3,
            bytes: field(1, bytes: Array("identity".utf8)) + (charsmap ? field(2, bytes: [1, 2, 3, 4]) : [])
                + field(4, varint: 0))
        return out
    }
}
