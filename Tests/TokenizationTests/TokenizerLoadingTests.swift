import ModelIO
import TestSupport
import Testing
import Tokenization

/// Reading the tokenizer from GGUF metadata (`tokenizer.ggml.*`).
@Suite struct TokenizerLoadingTests {
    static let path = "/models/tiny.gguf"

    static func message(_ metadata: GGUFMetadata) -> String? {
        do {
            _ = try Tokenizer(gguf: metadata, path: path)
            return nil
        } catch {
            return error.description
        }
    }

    @Test func readsWhatTinyModelWrites() throws {
        let vocabulary = TinyModel.vocabulary(size: 300)
        let read = try BPEVocabulary(gguf: TinyModel.metadata(TinyModel.config, vocabulary), path: Self.path)
        #expect(read == vocabulary)
        let tokenizer = try Tokenizer(gguf: TinyModel.metadata(TinyModel.config, vocabulary), path: Self.path)
        #expect(tokenizer.encode("the") == [try #require(tokenizer.id(for: "the"))])
    }

    @Test func optionalKeysDefaultLikeLlamaCpp() throws {
        var metadata = TinyModel.metadata(TinyModel.config, TinyModel.vocabulary(size: 300))
        for key in [
            "tokenizer.ggml.pre", "tokenizer.ggml.add_bos_token", "tokenizer.ggml.token_type",
            "tokenizer.ggml.eos_token_id",
        ] {
            metadata[key] = nil
        }
        let vocabulary = try BPEVocabulary(gguf: metadata, path: Self.path)
        #expect(
            vocabulary.preTokenizer == "default" && !vocabulary.addBOS && vocabulary.tokenTypes.isEmpty
                && vocabulary.eosID == nil)
        metadata["tokenizer.ggml.pre"] = .string("llama-bpe")
        #expect(try BPEVocabulary(gguf: metadata, path: Self.path).addBOS)
    }

    @Test func badMetadataNamesFileAndKey() {
        let good = TinyModel.metadata(TinyModel.config, TinyModel.vocabulary(size: 300))
        func edited(_ key: String, _ value: GGUFValue?) -> GGUFMetadata {
            var metadata = good
            metadata[key] = value
            return metadata
        }
        let cases: [(GGUFMetadata, String)] = [
            (edited("tokenizer.ggml.model", nil), "/models/tiny.gguf: tokenizer.ggml.model: the file has no tokenizer"),
            (
                edited("tokenizer.ggml.model", .string("llama")),
                "tokenizer.ggml.scores: a SentencePiece tokenizer needs one score per token"
            ),
            (
                edited("tokenizer.ggml.model", .string("bert")),
                "tokenizer.ggml.model: tokenizer model 'bert' is not supported"
            ),
            (edited("tokenizer.ggml.model", .uint32(2)), "tokenizer.ggml.model: expected a string"),
            (edited("tokenizer.ggml.tokens", nil), "tokenizer.ggml.tokens: the token list is missing"),
            (
                edited("tokenizer.ggml.tokens", .array(.int32, [.int32(1)])),
                "tokenizer.ggml.tokens: expected an array of strings, found an array of int32"
            ),
            (edited("tokenizer.ggml.merges", nil), "tokenizer.ggml.merges: the merge list is missing"),
            (
                edited("tokenizer.ggml.token_type", .array(.int32, [.int32(1)])),
                "tokenizer.ggml.token_type: 1 token types for 300 tokens"
            ),
            (
                edited("tokenizer.ggml.token_type", .string("x")),
                "tokenizer.ggml.token_type: expected an array of integers"
            ),
            (
                edited("tokenizer.ggml.bos_token_id", .uint32(300)),
                "tokenizer.ggml.bos_token_id: token id 300 is outside the vocabulary of 300 tokens"
            ),
            (edited("tokenizer.ggml.eos_token_id", .string("2")), "tokenizer.ggml.eos_token_id: expected a token id"),
            (edited("tokenizer.ggml.add_bos_token", .uint8(1)), "tokenizer.ggml.add_bos_token: expected a bool"),
            (
                edited("tokenizer.ggml.pre", .string("tekken")),
                "/models/tiny.gguf: tokenizer: unsupported pre-tokenizer 'tekken'"
            ),
            (
                edited("tokenizer.ggml.merges", .array(.string, [.string("th")])),
                "tokenizer: merge 0 'th' is not two tokens"
            ),
        ]
        for (metadata, expected) in cases {
            let message = Self.message(metadata)
            #expect(message?.contains(expected) == true, "\(message ?? "no error") should contain \(expected)")
        }
        var noBOS = edited("tokenizer.ggml.bos_token_id", nil)
        noBOS["tokenizer.ggml.add_bos_token"] = .bool(true)
        #expect(Self.message(noBOS)?.contains("tokenizer.ggml.add_bos_token: BOS is to be added") == true)
    }
}
