import TestSupport
import Testing
import Tokenization

/// BPE merging, special tokens and decoding on hand-made vocabularies.
@Suite struct BPEEncodingTests {
    /// Tokens `a b c Ġ bc ab abc aa` (no token for other bytes) with merges `b c`, `a b`, `a bc`, `a a`.
    static func handMade(preTokenizer: String = "gpt2") throws -> Tokenizer {
        let vocabulary = BPEVocabulary(
            tokens: ["a", "b", "c", "Ġ", "bc", "ab", "abc", "aa", "Ġa"],
            merges: ["b c", "a b", "a bc", "a a", "Ġ a"], preTokenizer: preTokenizer)
        return try Tokenizer(vocabulary: vocabulary)
    }

    @Test func mergesApplyInRankOrder() throws {
        let tokenizer = try Self.handMade()
        // `b c` outranks `a b`, so "abc" is a + bc, then `a bc` joins them.
        #expect(tokenizer.encode("abc") == [6])
        #expect(tokenizer.encode("ab") == [5])
        // Left to right would give ab + c; rank order gives c + ab only where no better pair exists.
        #expect(tokenizer.encode("cab") == [2, 5])
        #expect(tokenizer.encode("abcab") == [6, 5])
        // Equal ranks: leftmost first.
        #expect(tokenizer.encode("aaa") == [7, 0])
        #expect(tokenizer.encode("aaaa") == [7, 7])
        #expect(tokenizer.encode(" a abc") == [8, 3, 6])
    }

    @Test func mergesThatCannotApplyAreIgnored() throws {
        let vocabulary = BPEVocabulary(
            tokens: ["a", "b", "c", "ab"], merges: ["q zz", "b c", "a b"], preTokenizer: "gpt2")
        // "q zz" names missing tokens and "b c" makes one ("bc"): neither applies, "a b" still does.
        #expect(try Tokenizer(vocabulary: vocabulary).encode("abc") == [3, 2])
    }

    @Test func bytesWithoutTokensAreDropped() throws {
        let tokenizer = try Self.handMade()
        // "x" has no token: it disappears and its neighbours merge as if adjacent (Hugging Face).
        #expect(tokenizer.encode("axbc") == [6])
        #expect(tokenizer.encode("x") == [])
    }

    @Test func tinyModelVocabulary() throws {
        let tokenizer = try Tokenizer(vocabulary: TinyModel.vocabulary(size: 300))
        let the = try #require(tokenizer.id(for: "the")), th = try #require(tokenizer.id(for: "th"))
        let space = try #require(tokenizer.id(for: "Ġ")), inn = try #require(tokenizer.id(for: "in"))
        #expect(tokenizer.encode("the") == [the])
        // "Ġ t" (rank 2) loses to "t h" (rank 0); "Ġ th" is no rule, so the space stays alone.
        #expect(tokenizer.encode(" the") == [space, the])
        #expect(tokenizer.encode(" thin") == [space, th, inn])
        #expect(tokenizer.vocabularySize == 300)
        #expect(tokenizer.token(for: the) == "the")
        #expect(tokenizer.token(for: 300) == nil && tokenizer.token(for: -1) == nil)
        let text = "The thin anther in the rain, 42 times!\n\n  Done. é 😀"
        #expect(tokenizer.decode(tokenizer.encode(text)) == text)
    }

    @Test func controlTokensOnlyOnRequest() throws {
        let tokenizer = try Tokenizer(vocabulary: TinyModel.vocabulary(size: 300))
        let end = try #require(tokenizer.eosID)
        #expect(tokenizer.isControl(end) && !tokenizer.isControl(0) && !tokenizer.isControl(9999))
        let text = "the<|endoftext|>the"
        let plain = tokenizer.encode(text)
        #expect(!plain.contains(end))
        #expect(tokenizer.decode(plain) == text)
        let parsed = tokenizer.encode(text, parseSpecialTokens: true)
        let the = try #require(tokenizer.id(for: "the"))
        #expect(parsed == [the, end, the])
        #expect(tokenizer.decode(parsed) == "thethe")
        #expect(tokenizer.decode(parsed, renderSpecialTokens: true) == text)
    }

    @Test func userDefinedTokensAlwaysParsed() throws {
        var vocabulary = TinyModel.vocabulary(size: 300)
        vocabulary.tokens[290] = "<pad 1>"
        vocabulary.tokenTypes[290] = TokenType.userDefined.rawValue
        let tokenizer = try Tokenizer(vocabulary: vocabulary)
        let ids = tokenizer.encode("a<pad 1>b")
        #expect(ids.contains(290))
        #expect(tokenizer.decode(ids) == "a<pad 1>b")
    }

    @Test func bosIsPrependedWhenAsked() throws {
        var vocabulary = TinyModel.vocabulary(size: 300)
        vocabulary.addBOS = true
        let tokenizer = try Tokenizer(vocabulary: vocabulary)
        #expect(tokenizer.encode("the").first == vocabulary.bosID)
        #expect(tokenizer.encode("").count == 1)
    }

    @Test func decodingNeverTraps() throws {
        let tokenizer = try Tokenizer(vocabulary: TinyModel.vocabulary(size: 300))
        let ids = tokenizer.encode("é")
        #expect(ids.count == 2)
        // Half a UTF-8 sequence and out-of-range ids become U+FFFD.
        #expect(tokenizer.decode([ids[0]]) == "\u{FFFD}")
        #expect(tokenizer.decode([-5, 100_000]) == "\u{FFFD}\u{FFFD}")
        #expect(tokenizer.decodeBytes(ids) == [0xC3, 0xA9])
        #expect(tokenizer.decode([]) == "")
    }

    @Test func ignoreMergesTakesWholeWords() throws {
        // With llama-bpe, a word that is a token wins even though the merges would split it.
        let vocabulary = BPEVocabulary(
            tokens: ["a", "b", "c", "ab", "abc"], merges: ["a b"], preTokenizer: "llama-bpe")
        let llama = try Tokenizer(vocabulary: vocabulary)
        #expect(llama.encode("abc") == [4])
        var gpt2Vocabulary = vocabulary
        gpt2Vocabulary.preTokenizer = "gpt2"
        #expect(try Tokenizer(vocabulary: gpt2Vocabulary).encode("abc") == [3, 2])
    }

    @Test func inconsistentVocabulariesAreRefused() {
        func message(_ vocabulary: BPEVocabulary) -> String? {
            do {
                _ = try Tokenizer(vocabulary: vocabulary)
                return nil
            } catch {
                return error.message
            }
        }
        let tiny = TinyModel.vocabulary(size: 300)
        var badPre = tiny
        badPre.preTokenizer = "falcon"
        #expect(message(badPre)?.contains("unsupported pre-tokenizer 'falcon'") == true)
        var noSpace = tiny
        noSpace.merges.append("th")
        #expect(message(noSpace)?.contains("merge 10 'th' is not two tokens") == true)
        var trailingSpace = tiny
        trailingSpace.merges.append("t ")
        #expect(message(trailingSpace)?.contains("not two tokens") == true)
        var badTypes = tiny
        badTypes.tokenTypes.removeLast()
        #expect(message(badTypes)?.contains("299 token types") == true)
        var badBOS = tiny
        badBOS.bosID = 300
        #expect(message(badBOS)?.contains("BOS token id 300") == true)
        #expect(message(BPEVocabulary(tokens: [], merges: [], preTokenizer: "gpt2")) != nil)
        #expect(
            message(BPEVocabulary(tokens: ["<s>"], merges: [], preTokenizer: "gpt2"))?.contains("byte-level") == true)
    }

    @Test func encodesConcurrently() async throws {
        let tokenizer = try Tokenizer(vocabulary: TinyModel.vocabulary(size: 300))
        let expected = tokenizer.encode("the thin anther")
        let results = await withTaskGroup(of: [Int32].self) { group in
            for _ in 0..<8 { group.addTask { tokenizer.encode("the thin anther") } }
            return await group.reduce(into: []) { $0.append($1) }
        }
        #expect(results.allSatisfy { $0 == expected })
    }
}
