import TestSupport
import Testing
import Tokenization

/// Reading and writing Hugging Face `tokenizer.json`.
@Suite struct HuggingFaceJSONTests {
    static let preTokenizers = ["gpt-2", "smollm", "llama-bpe", "qwen2"]

    /// Text that exercises every branch of the pre-tokenizers.
    static let trickyText = """
        I'm sure they'll say it's fine; WE'LL SEE, you'Re right. Don't they'd've? 'tis \t tabs\t\there
        Numbers: 1234567 3.14159 ½ ٣ 2024-11-23   trailing spaces   \n\n\n  indented
        CJK 日本語のテキスト 中文 한국어, emoji 😀👍🏽 café naïve Ω≈ç √ ∑ — “quotes” «guillemets» \r\n end  
        Unicode spaces: a \u{A0}b \u{3000}\u{2009}c\u{A0} \u{85}\u{A0}
        nbsp\u{A0}x thin\u{2009}x ideographic\u{3000}x nel\u{85}x vt\u{0B}ff\u{0C}x zwsp\u{200B}x bom\u{FEFF}x
        marks e\u{301}\u{301} \u{301}x private\u{E000}use unassigned\u{378}\u{378} zwj \u{1F600}\u{200D}\u{1F600} ⅷ Ⅻ ²³ ０１ x'\u{2019}s
        """

    @Test(arguments: preTokenizers) func roundTrip(preTokenizer: String) throws {
        var vocabulary = TinyModel.vocabulary(size: 300)
        vocabulary.preTokenizer = preTokenizer
        let read = try BPEVocabulary(huggingFaceJSON: vocabulary.huggingFaceJSON())
        #expect(read.tokens == vocabulary.tokens)
        #expect(read.tokenTypes == vocabulary.tokenTypes)
        #expect(read.preTokenizer == preTokenizer)
        // "Ġt he" cannot apply ("he" is no token), so it is not written.
        #expect(read.merges == vocabulary.merges.filter { $0 != "Ġt he" })
        #expect(read.bosID == nil && !read.addBOS)
        let text = Self.trickyText
        #expect(try Tokenizer(vocabulary: read).encode(text) == Tokenizer(vocabulary: vocabulary).encode(text))
    }

    @Test func roundTripKeepsBOSAndUnknown() throws {
        var vocabulary = TinyModel.vocabulary(size: 300)
        vocabulary.addBOS = true
        vocabulary.bosID = 299
        vocabulary.unknownID = 5
        let read = try BPEVocabulary(huggingFaceJSON: vocabulary.huggingFaceJSON())
        #expect(read.addBOS && read.bosID == 299 && read.unknownID == 5)
        #expect(try Tokenizer(vocabulary: read).encode("x").first == 299)
    }

    @Test func readsPairMergesAndAddedTokensBeyondTheModelVocabulary() throws {
        let json = #"""
            {"added_tokens": [{"id": 4, "content": "<|end|>", "special": true}, {"id": 5, "content": "my word", "special": false}],
             "normalizer": null, "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false, "use_regex": true},
             "post_processor": null, "decoder": {"type": "ByteLevel"},
             "model": {"type": "BPE", "dropout": null, "unk_token": null, "continuing_subword_prefix": "",
                       "vocab": {"a": 0, "b": 1, "ab": 2, "\u0120": 3}, "merges": [["a", "b"], "\u0120 a"]}}
            """#
        let vocabulary = try BPEVocabulary(huggingFaceJSON: Array(json.utf8))
        #expect(vocabulary.tokens == ["a", "b", "ab", "Ġ", "<|end|>", "my word"])
        #expect(vocabulary.merges == ["a b", "Ġ a"])
        #expect(vocabulary.tokenTypes == [1, 1, 1, 1, 3, 4])
        #expect(vocabulary.preTokenizer == "gpt-2")
        let tokenizer = try Tokenizer(vocabulary: vocabulary)
        #expect(tokenizer.encode("ab<|end|>my word", parseSpecialTokens: true) == [2, 4, 5])
        // Unparsed, "<|end|>" is plain text whose bytes have no tokens here, so nothing is left of it.
        #expect(tokenizer.encode("ab<|end|>", parseSpecialTokens: false) == [2])
    }

    @Test func refusesWhatItCannotReproduce() {
        let byteLevel = #"{"type": "ByteLevel", "add_prefix_space": false, "use_regex": true}"#
        func document(
            model: String = #"{"type": "BPE", "vocab": {"a": 0}, "merges": []}"#,
            pre: String = byteLevel, normalizer: String = "null", extra: String = ""
        ) -> [UInt8] {
            Array(#"{"normalizer": \#(normalizer), "pre_tokenizer": \#(pre), "model": \#(model)\#(extra)}"#.utf8)
        }
        let cases: [([UInt8], String)] = [
            (Array("{\"model\": ".utf8), "not valid JSON: unexpected end"),
            (Array("[1, 2,]".utf8), "not valid JSON"),
            (Array(String(repeating: "[", count: 100_000).utf8), "nesting deeper than 128 levels"),
            (Array("{\"a\": \"\\uZZZZ\"}".utf8), "invalid \\u escape"),
            (Array("{\"a\": \"\\ud800\"}".utf8), "lone high surrogate"),
            (Array("{\"a\": 01}".utf8), "leading zero"),
            (document(model: #"{"type": "WordPiece", "vocab": {}}"#), #"model.type is "WordPiece", expected "BPE""#),
            (
                document(model: #"{"type": "BPE", "vocab": {"a": 0}, "merges": [], "byte_fallback": true}"#),
                "is not supported for a SentencePiece model"
            ),
            (document(normalizer: #"{"type": "NFC"}"#), #"normalizer {"type":"NFC"} is not supported"#),
            (document(pre: #"{"type": "Metaspace", "replacement": "▁"}"#), "is not one we can reproduce"),
            (document(pre: #"{"type": "ByteLevel", "add_prefix_space": true}"#), "is not one we can reproduce"),
            (
                document(
                    pre:
                        #"{"type": "Sequence", "pretokenizers": [{"type": "Split", "pattern": {"Regex": "\\s+"}, "behavior": "Isolated"}, {"type": "ByteLevel", "use_regex": false}]}"#
                ), "is not one we can reproduce"
            ),
            (
                document(model: #"{"type": "BPE", "vocab": {"a": 0}, "merges": [], "ignore_merges": true}"#),
                "ignore_merges = true does not match the gpt-2 pre-tokenizer"
            ),
            (document(model: #"{"type": "BPE", "vocab": {"a": 0, "b": 2}, "merges": []}"#), "no token has id 1"),
            (document(model: #"{"type": "BPE", "vocab": {"a": 0, "b": 0}, "merges": []}"#), "gives id 0 to both"),
            (
                document(model: #"{"type": "BPE", "vocab": {"a": 0, "a": 1}, "merges": []}"#),
                #"model.vocab lists "a" twice"#
            ),
            (document(model: #"{"type": "BPE", "vocab": {"a": 0}, "merges": [1]}"#), "merge 1 is neither"),
            (
                document(model: #"{"type": "BPE", "vocab": {"a": 0}, "merges": [], "unk_token": "<unk>"}"#),
                #"unk_token "<unk>" is not in the vocabulary"#
            ),
            (
                document(extra: #", "post_processor": {"type": "RobertaProcessing"}"#),
                #"post_processor {"type":"RobertaProcessing"} is not supported"#
            ),
            (
                document(extra: #", "decoder": {"type": "Metaspace"}"#),
                #"decoder {"type":"Metaspace"} is not supported"#
            ),
        ]
        for (json, expected) in cases {
            do {
                _ = try BPEVocabulary(huggingFaceJSON: json)
                Issue.record("no error for \(String(decoding: json, as: UTF8.self))")
            } catch {
                #expect(error.message.contains(expected), "\(error.message) should contain \(expected)")
            }
        }
    }

    @Test(
        .enabled(if: PythonTokenizers.available, "needs python3 with tokenizers (pip install tokenizers)"),
        arguments: preTokenizers)
    func pythonTokenizersEncodeTheSame(preTokenizer: String) throws {
        var vocabulary = TinyModel.vocabulary(size: 300)
        vocabulary.preTokenizer = preTokenizer
        let tokenizer = try Tokenizer(vocabulary: vocabulary)
        let texts = [Self.trickyText, "the thin anther", "", "<|endoftext|> the"]
        let reference = try PythonTokenizers.encode(
            tokenizerJSON: vocabulary.huggingFaceJSON(), texts: texts.map { Array($0.utf8) })
        for (text, expected) in zip(texts, reference) {
            // Hugging Face always parses added tokens, so compare with parsing on.
            #expect(tokenizer.encode(text, parseSpecialTokens: true) == expected, "\(preTokenizer): \(text)")
        }
    }

    @Test(
        .enabled(if: PythonTokenizers.available, "needs python3 with tokenizers (pip install tokenizers)"),
        arguments: preTokenizers)
    func readsWhatTokenizersWrites(preTokenizer: String) throws {
        var vocabulary = TinyModel.vocabulary(size: 300)
        vocabulary.preTokenizer = preTokenizer
        vocabulary.addBOS = true
        let resaved = try PythonTokenizers.resave(tokenizerJSON: vocabulary.huggingFaceJSON())
        let read = try BPEVocabulary(huggingFaceJSON: resaved)
        #expect(read.tokens == vocabulary.tokens && read.tokenTypes == vocabulary.tokenTypes)
        #expect(read.merges == vocabulary.merges.filter { $0 != "Ġt he" })
        #expect(read.preTokenizer == preTokenizer && read.addBOS && read.bosID == vocabulary.bosID)
    }

    @Test(
        .enabled(if: PythonTokenizers.available, "needs python3 with tokenizers (pip install tokenizers)"),
        arguments: preTokenizers)
    func pythonTokenizersSplitTheSame(preTokenizer: String) throws {
        var vocabulary = TinyModel.vocabulary(size: 300)
        vocabulary.preTokenizer = preTokenizer
        let ours = try PreTokenizer(name: preTokenizer).split(Self.trickyText).map {
            ByteLevelAlphabet.string(for: $0.utf8)
        }
        let reference = try PythonTokenizers.preTokenize(
            tokenizerJSON: vocabulary.huggingFaceJSON(), text: Self.trickyText)
        #expect(ours == reference)
    }
}
