import Foundation
import ModelIO
import TestSupport
import Testing
import Tokenization

/// Bad tokenizer input on the command line: a clear error naming the file and the field, exit 2.
@Suite struct TokenizerCLITests {
    @Test("a GGUF whose tokenizer type is unknown exits 2 naming the file and the key")
    func unknownGGUFTokenizer() throws {
        let directory = try TemporaryDirectory()
        let model = try TinyModel.make()
        var metadata = model.metadata
        metadata["tokenizer.ggml.model"] = .string("rwkv")
        let path = directory.path("rwkv.gguf")
        try GGUFWriter.write(
            metadata: metadata, tensors: model.tensors.map { GGUFWriter.Entry(tensor: $0, type: .f32) }, to: path)
        let text = directory.path("text.txt")
        try "hello".write(toFile: text, atomically: true, encoding: .utf8)
        let outcome = try CommandRunner.run(["tokenize", path, "--text", text, "--out", directory.path("ids.i32")])
        #expect(outcome.status == 2)
        #expect(outcome.stderr.contains("rwkv.gguf") && outcome.stderr.contains("tokenizer.ggml.model"))
        #expect(!FileManager.default.fileExists(atPath: directory.path("ids.i32")))
    }

    @Test("a tokenizer.model that is not a SentencePiece protobuf exits 2 naming the file")
    func badSentencePieceModel() throws {
        let directory = try TemporaryDirectory()
        let model = directory.path("hf")
        try HuggingFaceModelWriter.write(try TinyModel.make(), to: model, type: .f32, metadata: [:])
        try FileManager.default.removeItem(atPath: model + "/tokenizer.json")
        try Data("not a protobuf\n".utf8).write(to: URL(fileURLWithPath: model + "/tokenizer.model"))
        let text = directory.path("text.txt")
        try "hello".write(toFile: text, atomically: true, encoding: .utf8)
        let outcome = try CommandRunner.run(["tokenize", model, "--text", text, "--out", directory.path("ids.i32")])
        #expect(outcome.status == 2)
        #expect(outcome.stderr.contains("tokenizer.model") && outcome.stderr.contains("not a SentencePiece model"))
    }
}
