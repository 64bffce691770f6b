import Foundation
import ModelIO
import TestSupport
import Testing
import Tokenization

/// Shears' SentencePiece encoders against `sentencepiece` and transformers on models the
/// `sentencepiece` trainer made from WikiText-2 (see `SentencePieceFixtures`): the same ids for
/// WikiText-2 test and the hard cases, from `tokenizer.model`, `tokenizer.json` and the GGUF form.
@Suite(.enabled(if: SentencePieceFixtures.available, "needs the refenv with sentencepiece and ../shared/data"))
struct SentencePieceReferenceTests {
    /// The first index where two id streams differ, for a readable failure.
    static func firstDifference(_ a: [Int32], _ b: [Int32]) -> String {
        guard let index = zip(a, b).enumerated().first(where: { $0.element.0 != $0.element.1 })?.offset else {
            return a.count == b.count ? "equal" : "lengths \(a.count) vs \(b.count)"
        }
        return
            "first difference at \(index): \(a[index..<min(a.count, index + 8)]) vs \(b[index..<min(b.count, index + 8)])"
    }

    /// Checks `ids` against the reference's `expected` for the `kind` model on the `stem` text.
    static func expectSentencePieceIDs(_ ids: [Int32], _ expected: [Int32], kind: String, stem: String) {
        #expect(ids == expected, "\(kind) \(stem): \(firstDifference(ids, expected))")
    }

    @Test("tokenizer.model: ids equal sentencepiece's", arguments: SentencePieceFixtures.kinds)
    func sentencePieceModel(kind: String) throws {
        let vocabulary = try BPEVocabulary(sentencePieceModel: SentencePieceFixtures.bytes(kind + "/tokenizer.model"))
        #expect(vocabulary.kind == (kind == "bpe" ? .sentencePieceBPE : .sentencePieceUnigram))
        let tokenizer = try Tokenizer(vocabulary: vocabulary)
        for stem in SentencePieceFixtures.texts {
            let expected = try SentencePieceFixtures.ids("\(kind)/\(stem).spm.i32")
            let ids = tokenizer.encode(try SentencePieceFixtures.text(stem))
            Self.expectSentencePieceIDs(ids, expected, kind: kind, stem: stem)
        }
    }

    @Test("tokenizer.json: ids equal transformers'", arguments: SentencePieceFixtures.kinds)
    func huggingFaceJSON(kind: String) throws {
        let vocabulary = try BPEVocabulary(huggingFaceJSON: SentencePieceFixtures.bytes(kind + "/tokenizer.json"))
        let tokenizer = try Tokenizer(vocabulary: vocabulary)
        for stem in SentencePieceFixtures.texts {
            let expected = try SentencePieceFixtures.ids("\(kind)/\(stem).hf.i32")
            // transformers splits out its special added tokens (<s>, </s>, <unk>) written in the text.
            let ids = tokenizer.encode(try SentencePieceFixtures.text(stem), parseSpecialTokens: true)
            #expect(ids == expected, "\(kind) \(stem): \(Self.firstDifference(ids, expected))")
        }
    }

    @Test("GGUF form: written and read back, ids equal sentencepiece's", arguments: SentencePieceFixtures.kinds)
    func ggufForm(kind: String) throws {
        let vocabulary = try BPEVocabulary(sentencePieceModel: SentencePieceFixtures.bytes(kind + "/tokenizer.model"))
        let directory = try TemporaryDirectory()
        let path = directory.path("tokenizer.gguf")
        try GGUFWriter.write(metadata: GGUFMetadata(vocabulary.ggufMetadata), tensors: [], to: path)
        let file = try GGUFFile(path: path)
        let read = try BPEVocabulary(gguf: file.metadata, path: path)
        #expect(read.tokens == vocabulary.tokens && read.scores == vocabulary.scores)
        #expect(read.tokenTypes == vocabulary.tokenTypes && read.kind == vocabulary.kind)
        let tokenizer = try Tokenizer(gguf: file.metadata, path: path)
        for stem in SentencePieceFixtures.texts {
            let expected = try SentencePieceFixtures.ids("\(kind)/\(stem).spm.i32")
            var ids = tokenizer.encode(try SentencePieceFixtures.text(stem))
            if read.addBOS { ids.removeFirst() }
            Self.expectSentencePieceIDs(ids, expected, kind: kind, stem: stem)
        }
    }

    @Test("byte-fallback BPE decodes WikiText-2 test back to the text")
    func decodeRoundTrip() throws {
        let tokenizer = try Tokenizer(
            vocabulary: BPEVocabulary(sentencePieceModel: SentencePieceFixtures.bytes("bpe/tokenizer.model")))
        for stem in SentencePieceFixtures.texts {
            let text = try SentencePieceFixtures.text(stem)
            #expect(tokenizer.decode(tokenizer.encode(text)) == text)
        }
    }
}
