import Foundation
import ModelIO
import TestSupport
import Testing

/// `shears eval --base` and `shears eval --tasks` on tiny generated models.
@Suite("shears eval --base and --tasks")
struct EvalCLITests {
    static func json(_ outcome: ProcessOutcome) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(outcome.stdout.utf8)) as? [String: Any])
    }

    /// Two tiny models sharing a vocabulary: a base and a perturbed copy.
    static func pair(in directory: TemporaryDirectory) throws -> (base: String, model: String) {
        let base = directory.path("base.gguf"), model = directory.path("model.gguf")
        try ModelWriter.write(try TinyModel.make(seed: 1), to: base, type: .f32)
        let perturbed = try TinyModel.make(seed: 1)
        for tensor in perturbed.tensors where tensor.name.hasPrefix("blk.") && tensor.shape.count == 2 {
            for i in stride(from: 0, to: tensor.count, by: 2) { tensor.storage.buffer[i] = 0 }
        }
        try ModelWriter.write(perturbed, to: model, type: .f32)
        return (base, model)
    }

    @Test("eval --base --json reports KLD, same top, Δp and both perplexities; a saved base file gives the same")
    func base() throws {
        let directory = try TemporaryDirectory()
        let (base, model) = try Self.pair(in: directory)
        let text = try CLITests.sampleText(in: directory)
        let saved = directory.path("base.kld")
        let direct = try CommandRunner.run([
            "eval", model, "--base", base, "--text", text, "--seqlen", "64", "--save-base", saved, "--json",
        ])
        #expect(direct.status == 0, "\(direct.stderr)")
        let report = try Self.json(direct)
        for key in [
            "kld_mean", "kld_stderr", "same_top", "delta_p_rms", "ppl", "ppl_base", "ln_ppl_ratio", "positions",
        ] {
            #expect(report[key] is Double || report[key] is Int, "missing \(key)")
        }
        let kld = try #require(report["kld_mean"] as? Double)
        #expect(kld > 0 && kld.isFinite)
        let top = try #require(report["same_top"] as? Double)
        #expect(top > 0 && top <= 1)
        let percentiles = try #require(report["kld_percentiles"] as? [String: Double])
        #expect(
            Set(percentiles.keys) == ["max", "99.9", "99", "95", "90", "75", "50", "25", "10", "5", "1", "0.1", "min"])
        #expect(percentiles["max"]! >= percentiles["50"]! && percentiles["50"]! >= percentiles["min"]!)

        let fromFile = try CommandRunner.run(["eval", model, "--base", saved, "--json"])
        #expect(fromFile.status == 0, "\(fromFile.stderr)")
        let other = try Self.json(fromFile)
        for key in ["kld_mean", "same_top", "ppl", "ppl_base", "delta_p_rms"] {
            #expect(other[key] as? Double == report[key] as? Double, "\(key)")
        }
        let human = try CommandRunner.run(["eval", model, "--base", saved])
        #expect(human.status == 0 && human.stdout.contains("Mean KLD") && human.stdout.contains("Same top token"))
    }

    @Test("bad bases exit 2 naming the file: truncated, another vocabulary, text given with a base file")
    func badBases() throws {
        let directory = try TemporaryDirectory()
        let (base, model) = try Self.pair(in: directory)
        let text = try CLITests.sampleText(in: directory)
        let saved = directory.path("base.kld")
        let run = try CommandRunner.run([
            "eval", base, "--base", base, "--text", text, "--seqlen", "64", "--save-base", saved,
        ])
        try #require(run.status == 0, "\(run.stderr)")
        let bytes = try Data(contentsOf: URL(fileURLWithPath: saved))
        let truncated = directory.path("truncated.kld")
        try bytes.prefix(bytes.count / 2).write(to: URL(fileURLWithPath: truncated))
        let cut = try CommandRunner.run(["eval", model, "--base", truncated])
        #expect(
            cut.status == 2 && cut.stderr.contains("truncated.kld") && cut.stderr.contains("truncated"), "\(cut.stderr)"
        )

        var config = TinyModel.config
        config.vocabSize = 320
        let wide = directory.path("wide.gguf")
        try ModelWriter.write(try TinyModel.make(config, seed: 1), to: wide, type: .f32)
        let vocabulary = try CommandRunner.run(["eval", wide, "--base", saved])
        #expect(vocabulary.status == 2 && vocabulary.stderr.contains("base.kld"), "\(vocabulary.stderr)")
        let models = try CommandRunner.run(["eval", model, "--base", wide, "--text", text, "--seqlen", "64"])
        #expect(models.status == 2 && models.stderr.contains("wide.gguf"), "\(models.stderr)")

        let withText = try CommandRunner.run(["eval", model, "--base", saved, "--text", text])
        #expect(withText.status == 2 && withText.stderr.contains("holds its own tokens"), "\(withText.stderr)")
        let overwrite = try CommandRunner.run([
            "eval", model, "--base", base, "--text", text, "--seqlen", "64", "--save-base", saved,
        ])
        #expect(overwrite.status == 2 && overwrite.stderr.contains("already exists"), "\(overwrite.stderr)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: saved)) == bytes)
    }

    /// Writes `lines` as a JSONL file.
    static func tasks(
        _ lines: [String], in directory: TemporaryDirectory, name: String = "tasks.jsonl"
    ) throws -> String {
        let path = directory.path(name)
        try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test("eval --tasks reports acc and acc_norm with standard errors")
    func tasks() throws {
        let directory = try TemporaryDirectory()
        let model = directory.path("tiny.gguf")
        try ModelWriter.write(try TinyModel.make(seed: 1), to: model, type: .f32)
        let path = try Self.tasks(
            [
                #"{"context": "the cat sat on the", "choices": [" mat", " rain and the dog"], "gold": 0}"#,
                #"{"context": "the dog ran in the ", "choices": ["rain", "cat"], "gold": 1}"#,
                "",
                #"{"context": "", "choices": ["the", "then the"], "gold": 0, "extra": 3}"#,
            ], in: directory)
        let outcome = try CommandRunner.run(["eval", model, "--tasks", path, "--json"])
        #expect(outcome.status == 0, "\(outcome.stderr)")
        let report = try Self.json(outcome)
        #expect(report["tasks"] as? Int == 3)
        for key in ["acc", "acc_stderr", "acc_norm", "acc_norm_stderr"] {
            let value = try #require(report[key] as? Double, "missing \(key)")
            #expect(value >= 0 && value <= 1)
        }
        let acc = report["acc"] as! Double
        #expect(abs(acc * 3 - (acc * 3).rounded()) < 1e-9)
    }

    @Test(
        "bad task lines exit 2 naming the file and line",
        arguments: [
            (#"{"context": "a", "gold": 0}"#, "choices"),
            (#"{"context": "a", "choices": [], "gold": 0}"#, "choices"),
            (#"{"context": "a", "choices": ["b", "c"], "gold": 2}"#, "out of range"),
            (#"{"context": "a", "choices": ["b"], "gold": -1}"#, "out of range"),
            (#"{"choices": ["b"], "gold": 0}"#, "context"),
            (#"{"context": "a", "choices": ["b", 3], "gold": 0}"#, "strings"),
            (#"{"context": "a", "choices": ["b"]"#, "JSON"),
        ])
    func badTasks(line: String, complaint: String) throws {
        let directory = try TemporaryDirectory()
        let model = directory.path("tiny.gguf")
        try ModelWriter.write(try TinyModel.make(seed: 1), to: model, type: .f32)
        let path = try Self.tasks(
            [#"{"context": "the cat", "choices": [" sat", " ran"], "gold": 0}"#, line], in: directory, name: "bad.jsonl"
        )
        let outcome = try CommandRunner.run(["eval", model, "--tasks", path])
        #expect(outcome.status == 2, "\(outcome.stderr)")
        #expect(outcome.stderr.contains("bad.jsonl: line 2") && outcome.stderr.contains(complaint), "\(outcome.stderr)")
    }
}
