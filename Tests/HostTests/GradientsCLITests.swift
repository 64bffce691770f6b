import Foundation
import Inference
import ModelIO
import TestSupport
import Testing

/// `shears gradients`, `m:gradients{...}` and `--method taylor` / `shears.taylor{...}` on the tiny
/// model: the files and tables equal the engine's gradients; bad requests exit 2 and write nothing.
@Suite("gradients from the CLI and recipes")
struct GradientsCLITests {
    /// The windows `shears` draws from the sample text (the same request the tests make).
    static func windows(_ model: Model, text: String, samples: Int, seqlen: Int) throws -> [[Int32]] {
        let ids = model.tokenizer.encode(try String(contentsOfFile: text, encoding: .utf8))
        return try CalibrationSet.random(from: ids, samples: samples, seqlen: seqlen, seed: 0, source: text).windows
    }

    @Test("the file holds ∂L/∂W and the Fisher estimate of every tensor under its GGUF name, with the loss")
    func writesEveryTensor() throws {
        let workspace = try RecipeTests.Workspace()
        let out = workspace.directory.path("g.safetensors"), fisher = workspace.directory.path("f.safetensors")
        let outcome = try CommandRunner.run([
            "gradients", workspace.model, "--calib", workspace.text, "--samples", "3", "--seqlen", "24", "--out", out,
            "--fisher-out", fisher, "--order", "windows",
        ])
        #expect(outcome.status == 0, "\(outcome.stderr)")
        let model = try ModelLoader.load(path: workspace.model)
        let windows = try Self.windows(model, text: workspace.text, samples: 3, seqlen: 24)
        var expected: [String: TensorGradient] = [:]
        let loss = try ModelGradients(model: model).weights(windows: windows, fisher: true) { expected[$0.name] = $0 }
        let file = try SafetensorsFile(path: out), squares = try SafetensorsFile(path: fisher)
        #expect(Set(file.tensorNames) == Set(model.tensorNames))
        #expect(Set(squares.tensorNames) == Set(model.tensorNames))
        #expect(Double(file.metadata["shears.loss"] ?? "").map { abs($0 - loss) < 1e-6 } == true)
        #expect(file.metadata["shears.windows"] == "3")
        for (name, gradient) in expected {
            let written = try file.tensor(name), writtenFisher = try squares.tensor(name)
            #expect(written.shape == gradient.shape)
            let scale = gradient.gradient.array.map(abs).max()!
            let worst = zip(written.storage.array, gradient.gradient.array).map { abs($0 - $1) }.max()!
            #expect(worst <= 1e-5 * scale, "\(name): \(worst / scale)")
            let fisherScale = gradient.squared!.array.max()!
            let fisherWorst = zip(writtenFisher.storage.array, gradient.squared!.array).map { abs($0 - $1) }
                .max()!
            #expect(fisherWorst <= 1e-5 * fisherScale, "\(name) Fisher: \(fisherWorst / fisherScale)")
        }
        #expect(outcome.stdout.contains("order windows"))
    }

    @Test("a tied model's output gradient lands on token_embd.weight")
    func tiedOutput() throws {
        let directory = try TemporaryDirectory()
        var config = TinyModel.config
        config.tiedEmbedding = true
        let path = directory.path("tied.gguf")
        try ModelWriter.write(try TinyModel.make(config, seed: 5), to: path, type: .f32)
        let text = try CLITests.sampleText(in: directory)
        let out = directory.path("g.safetensors")
        let outcome = try CommandRunner.run([
            "gradients", path, "--calib", text, "--samples", "2", "--seqlen", "16", "--out", out,
        ])
        #expect(outcome.status == 0, "\(outcome.stderr)")
        let file = try SafetensorsFile(path: out)
        #expect(!file.tensorNames.contains("output.weight") && file.tensorNames.contains("token_embd.weight"))
        let model = try ModelLoader.load(path: path)
        let windows = try Self.windows(model, text: text, samples: 2, seqlen: 16)
        var embedding: [Float] = []
        try ModelGradients(model: model).weights(windows: windows) { tensor in
            if tensor.name == "token_embd.weight" { embedding = tensor.gradient.array }
        }
        let written = try file.tensor("token_embd.weight").storage.array
        let scale = embedding.map(abs).max()!
        #expect(zip(written, embedding).map { abs($0 - $1) }.max()! <= 1e-5 * scale)
    }

    @Test("bad requests exit 2 before any work and leave no file")
    func refusals() throws {
        let workspace = try RecipeTests.Workspace()
        let out = workspace.directory.path("g.safetensors")
        func run(_ extra: [String]) throws -> ProcessOutcome {
            try CommandRunner.run(["gradients", workspace.model, "--out", out] + extra)
        }
        let noData = try run([])
        #expect(noData.status == 2 && noData.stderr.contains("need calibration data"), "\(noData.stderr)")
        let calibration = ["--calib", workspace.text, "--samples", "2", "--seqlen", "16"]
        let tooBig = try run(calibration + ["--max-memory", "4K"])
        #expect(tooBig.status == 2 && tooBig.stderr.contains("over the limit of 4.0 KiB"), "\(tooBig.stderr)")
        let badSize = try run(calibration + ["--max-memory", "lots"])
        #expect(badSize.status == 2 && badSize.stderr.contains("--max-memory"), "\(badSize.stderr)")
        let short = try run(["--calib", workspace.text, "--samples", "2", "--seqlen", "1"])
        #expect(short.status == 2 && short.stderr.contains("--seqlen at least 2"), "\(short.stderr)")
        let wrongType = try CommandRunner.run(
            ["gradients", workspace.model, "--out", workspace.directory.path("g.gguf")] + calibration)
        #expect(wrongType.status == 2 && wrongType.stderr.contains(".safetensors"), "\(wrongType.stderr)")
        #expect(!FileManager.default.fileExists(atPath: out))
        _ = FileManager.default.createFile(atPath: out, contents: Data("keep".utf8))
        let existing = try run(calibration)
        #expect(existing.status == 2 && existing.stderr.contains("refusing to overwrite"), "\(existing.stderr)")
        #expect(try String(contentsOfFile: out, encoding: .utf8) == "keep")
    }

    @Test("m:gradients gives tensor handles and per-layer gate gradients equal to the engine's")
    func recipe() throws {
        let workspace = try RecipeTests.Workspace()
        let saved = workspace.directory.path("q.safetensors")
        let outcome = try workspace.run(
            """
            local m = shears.load(shears.args.model)
            local c = shears.calibration{ model = m, text = shears.args.text, samples = 3, seqlen = 24 }
            local g, loss = m:gradients{ calibration = c, fisher = true }
            local q = g["blk.0.attn_q.weight"]
            assert(q.name == "blk.0.attn_q.weight" and q.shape[1] == 32 and q.shape[2] == 32 and q.numel == 1024)
            assert(q:fisher():norm() > 0 and g["output_norm.weight"]:fisher() ~= nil)
            q:save("\(saved)")
            print(string.format("weights %.9g %.9g", loss, q:norm()))
            local heads, loss2 = m:gradients{ calibration = c, wrt = "heads" }
            assert(#heads == 2 and #heads[1] == 4 and loss2 == loss)
            local groups = m:gradients{ calibration = c, wrt = "kv_groups", layers = { 1 } }
            assert(#groups[1] == 0 and #groups[2] == 2)
            local channels = m:gradients{ calibration = c, wrt = "channels" }
            local blocks = m:gradients{ calibration = c, wrt = "blocks" }
            print(string.format("gates %.9g %.9g %.9g %.9g", heads[2][3], groups[2][2], channels[1][7], blocks[2]))
            local ok, err = pcall(function() return m:gradients{ calibration = c, wrt = "rows" } end)
            assert(not ok and err:find("'weights', 'heads'"), err)
            ok, err = pcall(function() return m:gradients{ calibration = c, wrt = "heads", fisher = true } end)
            assert(not ok and err:find("weights\\" only"), err)
            ok, err = pcall(function() return m:gradients{ wrt = "heads" } end)
            assert(not ok and err:find("'calibration' is required"), err)
            ok, err = pcall(function() return m:gradients{ calibration = c, wrt = "heads", layers = { 5 } } end)
            assert(not ok and err:find("layer 5"), err)
            ok, err = pcall(function() return m:gradients{ calibration = c, max_memory = "2K" } end)
            assert(not ok and err:find("over the limit"), err)
            m:remove{ layer = 1, attention = true }
            ok, err = pcall(function() return m:gradients{ calibration = c, wrt = "heads", layers = { 1 } } end)
            assert(not ok and err:find("no attention"), err)
            """)
        #expect(outcome.status == 0, "\(outcome.stderr)")
        let model = try ModelLoader.load(path: workspace.model)
        let windows = try Self.windows(model, text: workspace.text, samples: 3, seqlen: 24)
        var q: [Float] = []
        let loss = try ModelGradients(model: model).weights(windows: windows) { tensor in
            if tensor.name == "blk.0.attn_q.weight" { q = tensor.gradient.array }
        }
        let norm = q.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
        let gates = try ModelGradients(model: model).gates(windows: windows, units: Set(GateUnit.allCases))
        let printed = outcome.stdout.split(separator: "\n").map {
            $0.split(separator: " ").dropFirst().map { Double($0)! }
        }
        #expect(printed.count == 2)
        guard printed.count == 2 else { return }
        #expect(abs(printed[0][0] - loss) < 1e-6 && abs(printed[0][1] - norm) <= 1e-5 * norm)
        let expected = [
            gates.layers[1].heads[2], gates.layers[1].kvGroups[1], gates.layers[0].channels[6],
            gates.layers[1].block,
        ]
        for (actual, wanted) in zip(printed[1], expected) {
            #expect(abs(actual - wanted) <= 1e-5 * max(abs(wanted), 1e-6), "\(actual) vs \(wanted)")
        }
        let file = try SafetensorsFile(path: saved)
        #expect(file.tensorNames == ["blk.0.attn_q.weight"])
        let savedValues = try file.tensor("blk.0.attn_q.weight").storage.array
        #expect(zip(savedValues, q).map { abs($0 - $1) }.max()! <= 1e-5 * q.map(abs).max()!)
    }

    @Test("--method taylor equals the recipe shears.taylor{} and prunes half of every row")
    func taylorMethod() throws {
        let workspace = try RecipeTests.Workspace()
        let cli = workspace.directory.path("cli.gguf"), lua = workspace.directory.path("lua.gguf")
        let calibration = ["--calib", workspace.text, "--samples", "3", "--seqlen", "24"]
        let outcome = try CommandRunner.run(
            [
                "prune", workspace.model, "--method", "taylor", "--sparsity", "0.5", "--param", "order=2", "--out", cli,
                "--type", "f32",
            ] + calibration)
        #expect(outcome.status == 0, "\(outcome.stderr)")
        let recipe = try workspace.run(
            """
            local m = shears.load(shears.args.model)
            local c = shears.calibration{ model = m, text = shears.args.text, samples = 3, seqlen = 24 }
            local report = shears.prune(m, c, { shears.taylor{ sparsity = 0.5, order = 2 } })
            assert(report.times.gradients > 0, "the gradient phase is timed")
            m:save("\(lua)", { type = "f32" })
            """)
        #expect(recipe.status == 0, "\(recipe.stderr)")
        let a = try ModelLoader.load(path: cli), b = try ModelLoader.load(path: lua)
        for tensor in a.tensors {
            #expect(tensor.storage.array == b.tensor(tensor.name)!.storage.array, "\(tensor.name)")
        }
        #expect(try GGUFFile(path: cli).metadata["shears.steps"] == .string("taylor(sparsity=0.5, order=2)"))
        for (name, sparsity) in try PruneCLITests.linearSparsity(cli) { #expect(sparsity == 0.5, "\(name)") }
    }
}
