import Foundation
import ModelIO
import TestSupport
import Testing

/// The `shears` command line on tiny generated models: exit codes, messages, outputs.
@Suite("shears CLI")
struct CLITests {
    /// Writes the tiny random model as a GGUF file in `directory`.
    static func tinyModel(in directory: TemporaryDirectory, type: OutputType = .f32) throws -> String {
        let path = directory.path("tiny.gguf")
        try ModelWriter.write(try TinyModel.make(), to: path, type: type)
        return path
    }

    /// A small English text to evaluate on.
    static func sampleText(in directory: TemporaryDirectory) throws -> String {
        let text = String(repeating: "the cat sat on the mat and then the dog ran in the rain. ", count: 40)
        let path = directory.path("sample.txt")
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test("--help and --version exit 0")
    func help() throws {
        let help = try CommandRunner.run(["--help"])
        #expect(help.status == 0)
        #expect(help.stdout.contains("inspect") && help.stdout.contains("eval"))
        let version = try CommandRunner.run(["--version"])
        #expect(version.status == 0)
        #expect(version.stdout.contains("OpenBLAS") && version.stdout.contains("Lua"))
    }

    @Test("bad usage exits 2", arguments: [["frobnicate"], ["inspect"], ["eval", "x.gguf", "--seqlen", "one"]])
    func badUsage(arguments: [String]) throws {
        let outcome = try CommandRunner.run(arguments)
        #expect(outcome.status == 2)
        #expect(!outcome.stderr.isEmpty)
    }

    @Test("a missing or foreign model file exits 2 naming the file")
    func badModel() throws {
        let directory = try TemporaryDirectory()
        let missing = try CommandRunner.run(["inspect", directory.path("nope.gguf")])
        #expect(missing.status == 2)
        #expect(missing.stderr.contains("nope.gguf"))
        let text = try Self.sampleText(in: directory)
        let foreign = try CommandRunner.run(["inspect", text])
        #expect(foreign.status == 2)
        #expect(foreign.stderr.contains("sample.txt"))
        #expect(foreign.stderr.split(separator: "\n").count == 1)
    }

    @Test("inspect --json describes the tiny model")
    func inspect() throws {
        let directory = try TemporaryDirectory()
        let model = try Self.tinyModel(in: directory)
        let outcome = try CommandRunner.run(["inspect", model, "--json"])
        #expect(outcome.status == 0, "\(outcome.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(outcome.stdout.utf8)) as? [String: Any])
        let config = try #require(object["config"] as? [String: Any])
        #expect(config["layer_count"] as? Int == TinyModel.config.layerCount)
        #expect((object["tensors"] as? [Any])?.count == LlamaTensorNames.expected(TinyModel.config).count)
    }

    @Test("tokenize writes int32 ids; invalid UTF-8 exits 2 with the offset")
    func tokenize() throws {
        let directory = try TemporaryDirectory()
        let model = try Self.tinyModel(in: directory)
        let text = try Self.sampleText(in: directory)
        let out = directory.path("ids.i32")
        let good = try CommandRunner.run(["tokenize", model, "--text", text, "--out", out])
        #expect(good.status == 0, "\(good.stderr)")
        let size = try #require(try FileManager.default.attributesOfItem(atPath: out)[.size] as? Int)
        #expect(size > 0 && size % 4 == 0)

        let bad = directory.path("bad.txt")
        try Data([0x61, 0x62, 0xFF, 0x63]).write(to: URL(fileURLWithPath: bad))
        let outcome = try CommandRunner.run(["tokenize", model, "--text", bad, "--out", directory.path("bad.i32")])
        #expect(outcome.status == 2)
        #expect(
            outcome.stderr.contains("bad.txt") && outcome.stderr.contains("UTF-8")
                && outcome.stderr.contains("offset 2"))
        #expect(!FileManager.default.fileExists(atPath: directory.path("bad.i32")))
    }

    @Test("eval --json reports perplexity; --text and --ids agree")
    func eval() throws {
        let directory = try TemporaryDirectory()
        let model = try Self.tinyModel(in: directory)
        let text = try Self.sampleText(in: directory)
        let fromText = try CommandRunner.run(["eval", model, "--text", text, "--seqlen", "64", "--json"])
        #expect(fromText.status == 0, "\(fromText.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(fromText.stdout.utf8)) as? [String: Any])
        let ppl = try #require(report["ppl"] as? Double)
        #expect(ppl.isFinite && ppl > 1)
        #expect(report["seqlen"] as? Int == 64)
        for key in ["chunks", "tokens", "seconds"] { #expect(report[key] != nil, "missing \(key)") }

        let ids = directory.path("ids.i32")
        #expect(try CommandRunner.run(["tokenize", model, "--text", text, "--out", ids]).status == 0)
        let fromIDs = try CommandRunner.run(["eval", model, "--ids", ids, "--seqlen", "64", "--json"])
        let other = try #require(try JSONSerialization.jsonObject(with: Data(fromIDs.stdout.utf8)) as? [String: Any])
        #expect(other["ppl"] as? Double == ppl)
    }

    @Test("token ids outside the vocabulary exit 2 naming the file, in eval and in prune")
    func idsOutsideVocabulary() throws {
        let directory = try TemporaryDirectory()
        let model = try Self.tinyModel(in: directory)
        let ids = directory.path("bad.i32")
        var data = Data()
        for id in [Int32](repeating: 5, count: 200) + [99_999] {
            withUnsafeBytes(of: id.littleEndian) { data.append(contentsOf: $0) }
        }
        try data.write(to: URL(fileURLWithPath: ids))
        let eval = try CommandRunner.run(["eval", model, "--ids", ids, "--seqlen", "64"])
        #expect(eval.status == 2 && eval.stderr.contains("bad.i32") && eval.stderr.contains("99999"), "\(eval.stderr)")
        let prune = try CommandRunner.run([
            "prune", model, "--method", "wanda", "--sparsity", "0.5", "--calib-ids", ids,
            "--samples", "2", "--seqlen", "16", "--out", directory.path("out.gguf"),
        ])
        #expect(prune.status == 2 && prune.stderr.contains("outside the vocabulary"), "\(prune.stderr)")
        #expect(!FileManager.default.fileExists(atPath: directory.path("out.gguf")))
    }

    @Test("eval on a text shorter than one chunk exits 2")
    func evalTooShort() throws {
        let directory = try TemporaryDirectory()
        let model = try Self.tinyModel(in: directory)
        let text = try Self.sampleText(in: directory)
        let outcome = try CommandRunner.run(["eval", model, "--text", text, "--seqlen", "100000"])
        #expect(outcome.status == 2)
        #expect(outcome.stderr.contains("less than one chunk"))
    }

    @Test("generate is reproducible for a seed")
    func generate() throws {
        let directory = try TemporaryDirectory()
        let model = try Self.tinyModel(in: directory)
        let arguments = [
            "generate", model, "--prompt", "the cat", "--max-tokens", "12", "--temperature", "0.9",
            "--seed", "7", "--show-ids",
        ]
        let first = try CommandRunner.run(arguments)
        let second = try CommandRunner.run(arguments)
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stdout == second.stdout)
        #expect(first.stdout.hasPrefix("the cat"))
    }

    @Test("convert to GGUF types and to safetensors keeps the perplexity")
    func convert() throws {
        let directory = try TemporaryDirectory()
        let model = try Self.tinyModel(in: directory)
        let text = try Self.sampleText(in: directory)
        func ppl(_ path: String) throws -> Double {
            let outcome = try CommandRunner.run(["eval", path, "--text", text, "--seqlen", "64", "--json"])
            #expect(outcome.status == 0, "\(outcome.stderr)")
            let report = try JSONSerialization.jsonObject(with: Data(outcome.stdout.utf8)) as? [String: Any]
            return try #require(report?["ppl"] as? Double)
        }
        let reference = try ppl(model)
        for (out, type, tolerance) in [
            ("f32.gguf", "f32", 0.0), ("hf-f32", "f32", 1e-5), ("f16.gguf", "f16", 1e-2),
            ("q8.gguf", "q8_0", 5e-2), ("hf-bf16", "bf16", 5e-2),
        ] {
            let path = directory.path(out)
            let outcome = try CommandRunner.run(["convert", model, "--out", path, "--type", type])
            #expect(outcome.status == 0, "\(out): \(outcome.stderr)")
            let converted = try ppl(path)
            #expect(abs(converted - reference) <= tolerance * reference, "\(out): \(converted) vs \(reference)")
        }
    }

    @Test("bench reports the forward against sgemm, and the pruning kernels against a memory probe")
    func bench() throws {
        let directory = try TemporaryDirectory()
        let model = try Self.tinyModel(in: directory)
        let outcome = try CommandRunner.run(["bench", model, "--seqlen", "32", "--runs", "1", "--kernels"])
        #expect(outcome.status == 0, "\(outcome.stderr)")
        #expect(outcome.stdout.contains("% of the reference sgemm"))
        #expect(outcome.stdout.contains("memory probe") && outcome.stdout.contains("select_rows"))
        #expect(outcome.stdout.contains("peak RSS"))
        let bad = try CommandRunner.run(["bench", model, "--runs", "0"])
        #expect(bad.status == 2)
    }

    @Test("convert refuses to overwrite its input and q8_0 safetensors")
    func convertRefusals() throws {
        let directory = try TemporaryDirectory()
        let model = try Self.tinyModel(in: directory)
        let before = try Data(contentsOf: URL(fileURLWithPath: model))
        let same = try CommandRunner.run(["convert", model, "--out", model, "--type", "f16"])
        #expect(same.status == 2)
        #expect(same.stderr.contains("overwrite"))
        #expect(try Data(contentsOf: URL(fileURLWithPath: model)) == before)
        let q8 = try CommandRunner.run(["convert", model, "--out", directory.path("hf"), "--type", "q8_0"])
        #expect(q8.status == 2)
        #expect(!FileManager.default.fileExists(atPath: directory.path("hf")))
    }
}
