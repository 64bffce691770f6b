import Foundation
import ModelIO
import TestSupport
import Testing

/// `shears synth`: writes a loadable random model, replaces an existing output, refuses bad
/// dimensions and paths with exit status 2 and nothing written.
@Suite("shears synth")
struct SynthCLITests {
    static let small = ["--layers", "2", "--hidden", "64", "--ffn", "96", "--heads", "4", "--kv-heads", "2"]

    @Test("a custom shape is written, inspected and evaluated; an existing output is replaced; same seed, same bytes")
    func writesCustom() throws {
        let directory = try TemporaryDirectory()
        let out = directory.path("synth.gguf"), again = directory.path("again.gguf")
        try Data("old".utf8).write(to: URL(fileURLWithPath: out))
        let arguments =
            ["synth", "--shape", "custom"] + Self.small + ["--vocab", "300", "--type", "q8_0", "--seed", "5"]
        let outcome = try CommandRunner.run(arguments + ["--out", out])
        #expect(outcome.status == 0, "\(outcome.stderr)")
        #expect(outcome.stdout.contains("wrote \(out) (custom, q8_0, 2 layers, hidden 64"), "\(outcome.stdout)")
        #expect(try CommandRunner.run(arguments + ["--out", again]).status == 0)
        #expect(
            try Data(contentsOf: URL(fileURLWithPath: out)) == Data(contentsOf: URL(fileURLWithPath: again)))

        let inspect = try CommandRunner.run(["inspect", out])
        #expect(inspect.status == 0 && inspect.stdout.contains("2 heads") == false)
        #expect(inspect.stdout.contains("4 heads, 2 KV heads"), "\(inspect.stdout)")
        let file = try GGUFFile(path: out)
        #expect(file.metadata["shears.synth.shape"]?.string == "custom")
        #expect(file.metadata["shears.synth.seed"]?.string == "5")

        let text = directory.path("text.txt")
        try String(repeating: "the cat sat on the mat. ", count: 30).write(
            toFile: text, atomically: true, encoding: .utf8)
        let eval = try CommandRunner.run(["eval", out, "--text", text, "--seqlen", "128", "--chunks", "2"])
        #expect(eval.status == 0, "\(eval.stderr)")
        #expect(eval.stdout.contains("PPL = "), "\(eval.stdout)")
    }

    @Test("a named shape takes dimension overrides and keeps its other settings")
    func namedWithOverrides() throws {
        let directory = try TemporaryDirectory()
        let out = directory.path("mistral.gguf")
        let outcome = try CommandRunner.run([
            "synth", "--shape", "mistral-7b", "--layers", "1", "--hidden", "128", "--heads", "8", "--ffn", "64",
            "--vocab", "300", "--out", out,
        ])
        #expect(outcome.status == 0, "\(outcome.stderr)")
        #expect(outcome.stderr.contains("mistral-7b is v0.1"))
        let config = try ModelLoader.load(path: out).config
        #expect(config.layers[0].headCount == 8 && config.layers[0].kvHeadCount == 8)
        #expect(config.slidingWindow == 4096 && config.layerCount == 1 && config.hiddenSize == 128)
    }

    @Test("qwen2.5-7b is written as qwen2 with q/k/v biases")
    func qwen() throws {
        let directory = try TemporaryDirectory()
        let out = directory.path("qwen.gguf")
        let outcome = try CommandRunner.run([
            "synth", "--shape", "qwen2.5-7b", "--layers", "1", "--hidden", "128", "--heads", "4", "--kv-heads", "2",
            "--ffn", "64", "--vocab", "300", "--out", out,
        ])
        #expect(outcome.status == 0, "\(outcome.stderr)")
        let file = try GGUFFile(path: out)
        #expect(file.metadata["general.architecture"]?.string == "qwen2")
        #expect(file.tensors.first { $0.name == "blk.0.attn_k.bias" }?.shape == [64])
        let model = try ModelLoader.load(path: out)
        #expect(model.config.attentionBiases && model.config.rmsNormEpsilon == 1e-6)
    }

    @Test(
        "bad input exits 2 with a message and writes nothing",
        arguments: [
            (["--shape", "llama-9"], "llama-9"),
            (
                [
                    "--shape", "custom", "--layers", "0", "--hidden", "64", "--ffn", "96", "--heads", "4", "--vocab",
                    "300",
                ], "--layers"
            ),
            (
                [
                    "--shape", "custom", "--layers", "2", "--hidden", "64", "--ffn", "96", "--heads", "5", "--vocab",
                    "300",
                ], "--heads"
            ),
            (
                [
                    "--shape", "custom", "--layers", "2", "--hidden", "64", "--ffn", "96", "--heads", "4", "--kv-heads",
                    "3", "--vocab", "300",
                ], "--kv-heads"
            ),
            (["--shape", "custom", "--layers", "2", "--hidden", "64", "--ffn", "96", "--heads", "4"], "--vocab"),
            (
                [
                    "--shape", "custom", "--layers", "2", "--hidden", "64", "--ffn", "96", "--heads", "4", "--vocab",
                    "100",
                ], "--vocab"
            ),
            (["--shape", "smollm2-135m", "--type", "q4_1"], "q4_1"),
        ])
    func badInput(arguments: [String], mention: String) throws {
        let directory = try TemporaryDirectory()
        let outcome = try CommandRunner.run(["synth"] + arguments + ["--out", directory.path("x.gguf")])
        #expect(outcome.status == 2, "\(outcome.stdout)")
        #expect(outcome.stderr.contains(mention), "\(outcome.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.url.path).isEmpty)
    }

    @Test("an output that is not a .gguf file is refused with exit 2")
    func badOutput() throws {
        let directory = try TemporaryDirectory()
        let folder = directory.path("model.gguf")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: false)
        for out in [directory.path("model.safetensors"), folder] {
            let outcome = try CommandRunner.run(
                ["synth", "--shape", "custom"] + Self.small + ["--vocab", "300", "--out", out])
            #expect(outcome.status == 2)
            #expect(outcome.stderr.contains(out), "\(outcome.stderr)")
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.url.path) == ["model.gguf"])
    }
}
