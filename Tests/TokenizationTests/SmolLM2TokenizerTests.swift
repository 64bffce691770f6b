import Foundation
import ModelIO
import TestSupport
import Testing
import Tokenization

/// The real SmolLM2-135M vocabulary against the reference id streams and Hugging Face `tokenizers`.
@Suite(.enabled(if: ReferenceData.hasModel && ReferenceData.hasData, "needs the SmolLM2 GGUF and ../shared/data"))
struct SmolLM2TokenizerTests {
    /// The vocabulary read once from the GGUF.
    static let loaded = Result<BPEVocabulary, any Error> {
        try BPEVocabulary(gguf: GGUFFile(path: ReferenceData.modelPath).metadata, path: ReferenceData.modelPath)
    }

    static func vocabulary() throws -> BPEVocabulary { try loaded.get() }

    /// A WikiText file exactly as stored (the test split has CRLF line ends).
    static func text(_ name: String) throws -> [UInt8] {
        try [UInt8](Data(contentsOf: ReferenceData.file("wikitext2-\(name).txt")))
    }

    /// `bytes` with each CRLF turned into LF, as Python's text mode reads files.
    static func unixLineEnds(_ bytes: [UInt8]) -> [UInt8] {
        var result: [UInt8] = []
        result.reserveCapacity(bytes.count)
        for (index, byte) in bytes.enumerated()
        where !(byte == 0x0D && index + 1 < bytes.count && bytes[index + 1] == 0x0A) {
            result.append(byte)
        }
        return result
    }

    @Test func vocabularyFromGGUF() throws {
        let vocabulary = try Self.vocabulary()
        #expect(vocabulary.tokens.count == 49152 && vocabulary.merges.count == 48900)
        #expect(vocabulary.preTokenizer == "smollm")
        #expect(
            vocabulary.bosID == 1 && vocabulary.eosID == 2 && vocabulary.unknownID == 0 && vocabulary.paddingID == 2)
        #expect(!vocabulary.addBOS)
        let tokenizer = try Tokenizer(vocabulary: vocabulary)
        #expect(tokenizer.preTokenizer == .smollm && tokenizer.vocabularySize == 49152)
        #expect((0..<49152).filter { tokenizer.isControl(Int32($0)) } == Array(0..<17))
        #expect(tokenizer.token(for: 1) == "<|im_start|>" && tokenizer.id(for: "<|im_end|>") == 2)
        // The reference prompt from ../shared/data/README.md.
        #expect(tokenizer.encode("The capital of France is") == [504, 3575, 282, 4649, 314])
        #expect(
            tokenizer.decode([7042, 30, 198, 198, 504, 2988, 314, 42, 216, 34, 32, 33])
                == " Paris.\n\nThe answer is: 201")
        #expect(tokenizer.encode("<|im_start|>user\nHi<|im_end|>", parseSpecialTokens: true).first == 1)
    }

    /// The reference streams were made by `transformers` loading the GGUF: its converter splits with
    /// the plain GPT-2 ByteLevel regex whatever `tokenizer.ggml.pre` says (no SmolLM digit
    /// isolation), and the text was read with CRLF turned into LF. We reproduce both settings.
    @Test(arguments: ["test", "valid"]) func referenceIDStreams(name: String) throws {
        var vocabulary = try Self.vocabulary()
        vocabulary.preTokenizer = "gpt2"
        let tokenizer = try Tokenizer(vocabulary: vocabulary)
        let text = String(decoding: Self.unixLineEnds(try Self.text(name)), as: UTF8.self)
        let ids = tokenizer.encode(text)
        let reference = try ReferenceData.int32s("wikitext2-\(name).smollm2-ids.i32")
        #expect(ids.count == (name == "test" ? 304_986 : 273_868))
        #expect(ids == reference)
    }

    @Test(arguments: ["test", "valid"]) func roundTrip(name: String) throws {
        let tokenizer = try Tokenizer(vocabulary: Self.vocabulary())
        let text = String(decoding: try Self.text(name), as: UTF8.self)
        let ids = tokenizer.encode(text)
        #expect(tokenizer.decode(ids) == text)
        #expect(tokenizer.decodeBytes(ids) == (try Self.text(name)))
    }

    @Test func encodesAMegabyteQuickly() throws {
        let tokenizer = try Tokenizer(vocabulary: Self.vocabulary())
        let text = String(decoding: try Self.text("test"), as: UTF8.self)
        var ids: [Int32] = []
        let elapsed = ContinuousClock().measure { ids = tokenizer.encode(text) }
        print("SmolLM2 encode of wikitext2-test.txt (\(text.utf8.count) bytes → \(ids.count) ids): \(elapsed)")
        #expect(elapsed < .seconds(2))
    }

    /// Our encoding of the raw files against Hugging Face `tokenizers` loading the
    /// `tokenizer.json` we write, for every pre-tokenizer (SmolLM's is the real SmolLM2 one:
    /// `Digits(individual_digits)` then `ByteLevel`).
    @Test(
        .enabled(if: PythonTokenizers.available, "needs python3 with tokenizers (pip install tokenizers)"),
        arguments: HuggingFaceJSONTests.preTokenizers)
    func matchesHuggingFaceTokenizers(preTokenizer: String) throws {
        var vocabulary = try Self.vocabulary()
        vocabulary.preTokenizer = preTokenizer
        let tokenizer = try Tokenizer(vocabulary: vocabulary)
        let texts = [try Self.text("test"), try Self.text("valid"), Array(HuggingFaceJSONTests.trickyText.utf8)]
        let reference = try PythonTokenizers.encode(tokenizerJSON: vocabulary.huggingFaceJSON(), texts: texts)
        for (index, (text, expected)) in zip(texts, reference).enumerated() {
            let ids = tokenizer.encode(String(decoding: text, as: UTF8.self))
            #expect(ids.count == expected.count && ids == expected, "\(preTokenizer), text \(index)")
        }
    }
}
