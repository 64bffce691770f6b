import Foundation
import ModelIO
import TestSupport
import Testing

/// `shears prune` and `shears.prune` on the tiny model: exact sparsity, patterns, chains,
/// callbacks, provenance and refusals.
@Suite("pruning from the CLI and recipes")
struct PruneCLITests {
    /// Zero count of every linear matrix of the GGUF at `path`, by name.
    static func linearSparsity(_ path: String) throws -> [String: Double] {
        let model = try ModelLoader.load(path: path)
        var result: [String: Double] = [:]
        for tensor in model.tensors where tensor.shape.count == 2 && tensor.name.hasPrefix("blk.") {
            result[tensor.name] = Double(tensor.storage.buffer.filter { $0 == 0 }.count) / Double(tensor.count)
        }
        return result
    }

    @Test("magnitude 50% needs no calibration and prunes every linear matrix to half (per-matrix ≤ τ rule)")
    func magnitude() throws {
        let directory = try TemporaryDirectory()
        let model = try CLITests.tinyModel(in: directory)
        let out = directory.path("magnitude.gguf")
        let outcome = try CommandRunner.run([
            "prune", model, "--method", "magnitude", "--sparsity", "0.5", "--out", out, "--type", "f32",
        ])
        #expect(outcome.status == 0, "\(outcome.stderr)")
        let sparsity = try Self.linearSparsity(out)
        #expect(sparsity.count == 14)
        // The reference prunes every weight ≤ the k-th smallest: at least k, usually k + 1.
        for (name, value) in sparsity { #expect(value >= 0.5 && value < 0.52, "\(name): \(value)") }
        let file = try GGUFFile(path: out)
        #expect(file.metadata["shears.steps"] == .string("magnitude(sparsity=0.5, scope=matrix)"))
        #expect(file.metadata["shears.sparsity"]?.string?.hasPrefix("0.50") == true)
    }

    @Test("wanda 2:4 with calibration text keeps at most 2 of every 4 weights in each row")
    func wandaTwoFour() throws {
        let directory = try TemporaryDirectory()
        let model = try CLITests.tinyModel(in: directory)
        let text = try CLITests.sampleText(in: directory)
        let out = directory.path("wanda24.gguf")
        let outcome = try CommandRunner.run([
            "prune", model, "--method", "wanda", "--pattern", "2:4", "--calib", text,
            "--samples", "4", "--seqlen", "32", "--out", out, "--type", "f32",
        ])
        #expect(outcome.status == 0, "\(outcome.stderr)")
        let pruned = try ModelLoader.load(path: out)
        for tensor in pruned.tensors where tensor.shape.count == 2 && tensor.name.hasPrefix("blk.") {
            let buffer = tensor.storage.buffer
            for group in stride(from: 0, to: tensor.count, by: 4) {
                let kept = (group..<group + 4).filter { buffer[$0] != 0 }.count
                #expect(kept <= 2, "\(tensor.name) group \(group)")
                if kept > 2 { return }
            }
        }
    }

    @Test("--method ria --owl --dsnot: OWL spreads the layers around the target, provenance names the chain")
    func riaWithOWLAndDSnoT() throws {
        let directory = try TemporaryDirectory()
        let model = try CLITests.tinyModel(in: directory)
        let text = try CLITests.sampleText(in: directory)
        let out = directory.path("ria-owl-dsnot.gguf")
        let outcome = try CommandRunner.run([
            "prune", model, "--method", "ria", "--sparsity", "0.6", "--owl", "--owl-lambda", "0.1",
            "--dsnot", "--calib", text, "--samples", "4", "--seqlen", "32",
            "--out", out, "--type", "f32",
        ])
        #expect(outcome.status == 0, "\(outcome.stderr)")
        let sparsity = try Self.linearSparsity(out)
        let layers = (0..<2).map { layer in
            sparsity.filter { $0.key.hasPrefix("blk.\(layer).") }.values.reduce(0, +) / 7
        }
        // Two layers: OWL gives one p − λ and the other p + λ (per-matrix ≤ τ may prune a few more).
        #expect(abs(layers[0] - layers[1]) > 0.15, "\(layers)")
        #expect(abs((layers[0] + layers[1]) / 2 - 0.6) < 0.01, "\(layers)")
        let file = try GGUFFile(path: out)
        #expect(
            file.metadata["shears.steps"]
                == .string(
                    "owl(sparsity=0.6, m=5.0, lambda=0.1) + ria(a=0.5, scope=matrix) + dsnot(max_cycles=50, threshold=0.1, power=1.0, layers=attention)"
                ))
    }

    @Test(
        "bad prune requests exit 2 and write nothing",
        arguments: [
            ["--method", "wanda", "--sparsity", "1.5"],
            ["--method", "wanda", "--sparsity", "0.5"],
            ["--method", "magnitude", "--pattern", "4:2"],
            ["--method", "magnitude", "--pattern", "2:5"],
            ["--method", "magnitude", "--sparsity", "0.5", "--target", "nothing.*"],
            ["--method", "frobnicate", "--sparsity", "0.5"],
            ["--method", "sparsegpt", "--sparsity", "0.5", "--dsnot", "--calib-generate"],
            ["--method", "wanda", "--pattern", "2:4", "--permute", "--calib-generate"],
            ["--method", "ria", "--pattern", "2:4", "--permute", "--dsnot", "--calib-generate"],
            ["--method", "wanda", "--sparsity", "0.5", "--owl-lambda", "0.1", "--calib-generate"],
            ["--method", "wanda", "--sparsity", "0.5", "--owl", "--owl-lambda=-1", "--calib-generate"],
            ["--method", "magnitude", "--sparsity", "0.5", "--param", "scope=column"],
            ["--method", "magnitude", "--sparsity", "0.5", "--param", "variant=true"],
            ["--method", "magnitude", "--sparsity", "0.5", "--param", "sparsity=0.4"],
        ])
    func refusals(arguments: [String]) throws {
        let directory = try TemporaryDirectory()
        let model = try CLITests.tinyModel(in: directory)
        let out = directory.path("out.gguf")
        let outcome = try CommandRunner.run(["prune", model] + arguments + ["--out", out])
        #expect(outcome.status == 2, "\(outcome.stderr)")
        #expect(!outcome.stderr.isEmpty)
        #expect(!FileManager.default.fileExists(atPath: out))
    }

    @Test("an unwritable output directory is refused before any work")
    func unwritableOutput() throws {
        let directory = try TemporaryDirectory()
        let model = try CLITests.tinyModel(in: directory)
        let outcome = try CommandRunner.run([
            "prune", model, "--method", "magnitude", "--sparsity", "0.5",
            "--out", "/nonexistent-dir/x.gguf",
        ])
        #expect(outcome.status == 2)
        #expect(outcome.stderr.contains("/nonexistent-dir") && outcome.stderr.contains("not writable"))
    }

    @Test("recipes chain wanda and reconstruct, honour targets/ignore and call on_layer")
    func recipeChain() throws {
        let workspace = try RecipeTests.Workspace()
        let out = workspace.directory.path("chained.gguf")
        let outcome = try workspace.run(
            """
            local m = shears.load(shears.args.model)
            local c = shears.calibration{ text = shears.args.text, samples = 4, seqlen = 32, seed = 1 }
            local seen = 0
            local report = shears.prune(m, c, {
                shears.wanda{ sparsity = 0.5 }, shears.reconstruct{},
                ignore = { "blk.0.*" },
                on_layer = function(i, layer) seen = seen + 1; assert(layer.layer == i) end,
            })
            assert(seen == m.layers - 1, "on_layer called " .. seen .. " times")  -- once per pruned layer
            assert(m:tensor("blk.0.ffn_up.weight"):sparsity() == 0)
            assert(m:tensor("blk.1.ffn_up.weight"):sparsity() == 0.5)
            assert(#report.layers == 1 and report.layers[1].layer == 1 and report.times.forwards >= 0)
            local linear = m:sparsity()
            assert(linear > 0.2 and linear < 0.3, linear)
            m:save(shears.args.out, { type = "f32" })
            print(tostring(shears.wanda{ sparsity = 0.5, pattern = "2:4" }))
            """, ["out=\(out)"])
        #expect(outcome.status == 0, "\(outcome.stderr)")
        #expect(outcome.stdout.contains("shears.Step: wanda(sparsity=0.5, pattern=2:4)"))
        let file = try GGUFFile(path: out)
        #expect(file.metadata["shears.steps"] == .string("wanda(sparsity=0.5) + reconstruct(blocksize=128, damp=0.01)"))
    }

    @Test(
        "recipe prune errors read clearly",
        arguments: [
            ("shears.prune(m, nil, {})", "no steps given"),
            ("shears.prune(m, nil, { 42 })", "element #1 must be a handle"),
            ("shears.prune(m, nil, { shears.wanda{ sparsity = 0.5 } })", "calibration"),
            ("shears.wanda{ sparsity = 2 }", "sparsity"),
            ("shears.magnitude{ sparsity = 0.5, pattern = 'x' }", "field 'pattern'"),
            (
                "shears.prune(m, nil, { shears.magnitude{ sparsity = 0.5 }, targets = { 'nothing' } })",
                "match no linear matrix"
            ),
            (
                "shears.prune(m, nil, { shears.magnitude{ sparsity = 0.5 }, on_layer = function() error('stop here') end })",
                "stop here"
            ),
        ])
    func recipeErrors(source: String, message: String) throws {
        let outcome = try RecipeTests.Workspace().run("local m = shears.load(shears.args.model)\n" + source)
        #expect(outcome.status == 1, "\(outcome.stderr)")
        #expect(outcome.stderr.contains(message), "\(outcome.stderr)")
    }

    /// Runs `shears prune` with `arguments` (plus `--out` and `--type f32`) and `recipe` (which
    /// saves to `shears.args.out`) in `workspace`; expects both to succeed and returns their files
    /// and what each printed.
    static func commandAndRecipe(
        _ workspace: RecipeTests.Workspace, _ arguments: [String], _ recipe: String
    ) throws -> (command: GGUFFile, recipe: GGUFFile, commandOutput: String, recipeOutput: String) {
        let commandPath = workspace.directory.path("command.gguf"), recipePath = workspace.directory.path("recipe.gguf")
        let outcome = try CommandRunner.run(["prune"] + arguments + ["--out", commandPath, "--type", "f32"])
        #expect(outcome.status == 0, "\(outcome.stderr)")
        let run = try workspace.run(recipe, ["out=\(recipePath)"])
        #expect(run.status == 0, "\(run.stderr)")
        return (try GGUFFile(path: commandPath), try GGUFFile(path: recipePath), outcome.stdout, run.stdout)
    }

    /// Expects `a` and `b` to hold the same tensor bytes (not all zero) and the same `keys`.
    static func expectSameTensors(_ a: GGUFFile, _ b: GGUFFile, keys: [String]) throws {
        let bytes = { (file: GGUFFile) in
            try Data(contentsOf: URL(fileURLWithPath: file.path)).dropFirst(file.dataOffset)
        }
        #expect(try bytes(a) == bytes(b))
        #expect(try bytes(a).contains { $0 != 0 })
        for key in keys {
            #expect(a.metadata[key] != nil && a.metadata[key] == b.metadata[key], "\(key)")
        }
    }

    @Test("a recipe and the equivalent command write bit-identical tensors with the same provenance")
    func recipeEqualsCommand() throws {
        let workspace = try RecipeTests.Workspace()
        let (a, b, _, _) = try Self.commandAndRecipe(
            workspace,
            [
                workspace.model, "--method", "ria", "--sparsity", "0.5", "--param", "scope=row", "--dsnot", "--calib",
                workspace.text, "--samples", "4", "--seqlen", "32", "--seed", "1",
            ],
            """
            local m = shears.load(shears.args.model)
            local c = shears.calibration{ text = shears.args.text, samples = 4, seqlen = 32, seed = 1 }
            shears.prune(m, c, { shears.ria{ sparsity = 0.5, scope = "row" }, shears.dsnot{} })
            m:save(shears.args.out, { type = "f32" })
            """)
        try Self.expectSameTensors(a, b, keys: ["shears.steps", "shears.calibration", "shears.sparsity"])
        #expect(
            a.metadata["shears.steps"]
                == .string(
                    "ria(sparsity=0.5, a=0.5, scope=row) + dsnot(max_cycles=50, threshold=0.1, power=1.0, layers=attention)"
                ))
    }

    @Test("minitron: the command and the recipe write the same narrower model (hidden and FFN), read back as llama")
    func minitronCommandEqualsRecipe() throws {
        let workspace = try RecipeTests.Workspace()
        let (a, b, _, recipeOutput) = try Self.commandAndRecipe(
            workspace,
            [
                workspace.model, "--method", "minitron", "--param", "ratio=0.25", "--calib", workspace.text,
                "--samples", "3", "--seqlen", "16", "--seed", "2",
            ],
            """
            local m = shears.load(shears.args.model)
            local c = shears.calibration{ text = shears.args.text, samples = 3, seqlen = 16, seed = 2 }
            shears.prune(m, c, { shears.minitron{ ratio = 0.25 } })
            m:save(shears.args.out, { type = "f32" })
            local n = shears.load(shears.args.model)
            n:remove{ hidden = { 0, 5 } }
            local ok, err = pcall(function() n:remove{ layer = 0, hidden = { 1 } } end)
            assert(not ok and err:find("applies to every layer"), err)
            ok, err = pcall(function() shears.prune(n, c, { shears.hidden{ ratio = 1 } }) end)
            assert(not ok and err:find("ratio must be in"), err)
            print("hidden", n:tensor("token_embd.weight").columns)
            """)
        #expect(recipeOutput.contains("hidden\t30"), "\(recipeOutput)")
        #expect(a.metadata["llama.embedding_length"]?.int == 24)
        #expect(a.metadata["llama.feed_forward_length"]?.int == 36)
        #expect(a.metadata["llama.attention.key_length"]?.int == 8)
        try Self.expectSameTensors(a, b, keys: ["shears.steps", "llama.embedding_length"])
        let loaded = try ModelLoader.load(path: a.path)
        #expect(loaded.config.hiddenSize == 24 && loaded.config.headDim == 8)

        let refused = try CommandRunner.run([
            "prune", workspace.model, "--method", "shortened", "--param", "criterion=bi", "--param", "remove=1",
            "--calib", workspace.text, "--out", workspace.directory.path("z.gguf"),
        ])
        #expect(refused.status == 2)
        #expect(refused.stderr.contains("criterion"), "\(refused.stderr)")
        #expect(!FileManager.default.fileExists(atPath: workspace.directory.path("z.gguf")))
    }

    @Test("block removal: the command and the recipe write the same smaller model")
    func blocksCommandEqualsRecipe() throws {
        let workspace = try RecipeTests.Workspace()
        let (a, b, commandOutput, recipeOutput) = try Self.commandAndRecipe(
            workspace,
            [
                workspace.model, "--method", "blocks", "--param", "remove=1", "--param", "keep_ends=false",
                "--calib", workspace.text, "--samples", "3", "--seqlen", "16", "--seed", "2",
            ],
            """
            local m = shears.load(shears.args.model)
            local c = shears.calibration{ text = shears.args.text, samples = 3, seqlen = 16, seed = 2 }
            local report = shears.prune(m, c, { shears.blocks{ remove = 1, keep_ends = false } })
            print("removed", #report.removed_blocks, #report.block_scores, m.layers)
            m:save(shears.args.out, { type = "f32" })
            """)
        #expect(commandOutput.contains("removed blocks ["), "\(commandOutput)")
        #expect(recipeOutput.contains("removed\t1\t2\t1"), "\(recipeOutput)")
        #expect(a.metadata["llama.block_count"]?.int == 1)
        try Self.expectSameTensors(a, b, keys: ["shears.steps", "shears.calibration", "llama.block_count"])
        #expect(a.metadata["shears.steps"] == .string("blocks(remove=1, criterion=ppl, keep_ends=false)"))

        let refused = try CommandRunner.run([
            "prune", workspace.model, "--method", "blocks", "--sparsity", "0.5", "--calib", workspace.text,
            "--out", workspace.directory.path("x.gguf"),
        ])
        #expect(refused.status == 2)
        #expect(refused.stderr.contains("--method blocks removes whole blocks: give --param remove=N"))
        let tooMany = try CommandRunner.run([
            "prune", workspace.model, "--method", "blocks", "--param", "remove=2", "--calib", workspace.text,
            "--out", workspace.directory.path("y.gguf"),
        ])
        #expect(tooMany.status == 2)
        #expect(tooMany.stderr.contains("blocks: cannot remove 2 of 2 blocks"), "\(tooMany.stderr)")
        #expect(!FileManager.default.fileExists(atPath: workspace.directory.path("y.gguf")))
    }

    @Test(
        "--method heads with michel, iterative and ridge runs; --method michel is the same step; michel on KV groups and a bad compensation exit 2"
    )
    func unitCriteriaOptions() throws {
        let workspace = try RecipeTests.Workspace()
        func prune(_ method: String, _ parameters: [String], _ out: String) throws -> ProcessOutcome {
            try CommandRunner.run(
                ["prune", workspace.model, "--method", method] + parameters.flatMap { ["--param", $0] } + [
                    "--calib", workspace.text, "--samples", "2", "--seqlen", "16", "--out",
                    workspace.directory.path(out),
                ])
        }
        let heads = try prune(
            "heads", ["ratio=0.5", "criterion=michel", "iterative=1", "compensation=ridge"], "h.gguf")
        #expect(heads.status == 0, "\(heads.stderr)")
        #expect(heads.stdout.contains("removed layer 0: 2 of 4 query heads (1 per KV group)"), "\(heads.stdout)")
        let michel = try prune("michel", ["ratio=0.5", "iterative=1", "compensation=ridge"], "michel.gguf")
        #expect(michel.status == 0, "\(michel.stderr)")
        try Self.expectSameTensors(
            GGUFFile(path: workspace.directory.path("h.gguf")), GGUFFile(path: workspace.directory.path("michel.gguf")),
            keys: [])
        let michelChoice = try prune("michel", ["ratio=0.5", "criterion=wanda_sp"], "w.gguf")
        #expect(
            michelChoice.status == 2 && michelChoice.stderr.contains("must be 'michel' or 'ablation'"),
            "\(michelChoice.stderr)")
        let michelNorm = try prune("michel", ["ratio=0.5", "norm=1"], "n.gguf")
        #expect(michelNorm.status == 2 && michelNorm.stderr.contains("norm"), "\(michelNorm.stderr)")
        let groups = try prune("kv_groups", ["ratio=0.5", "criterion=michel"], "g.gguf")
        #expect(groups.status == 2 && groups.stderr.contains("use it with shears.heads{}"), "\(groups.stderr)")
        let channels = try prune("channels", ["ratio=0.5", "criterion=ablation"], "c.gguf")
        #expect(channels.status == 2 && channels.stderr.contains("too many for FFN channels"), "\(channels.stderr)")
        let compensation = try prune("channels", ["ratio=0.5", "compensation=mean"], "m.gguf")
        #expect(compensation.status == 2 && compensation.stderr.contains("compensation"), "\(compensation.stderr)")
        let random = try prune("llm-pruner", ["ratio=0.25", "layers=1", "importance=random", "seed=3"], "r.gguf")
        #expect(random.status == 0 && random.stdout.contains("12 of 48 FFN channels"), "\(random)")
        for out in ["g.gguf", "c.gguf", "m.gguf", "w.gguf", "n.gguf"] {
            #expect(!FileManager.default.fileExists(atPath: workspace.directory.path(out)), "\(out)")
        }
    }

    @Test(
        "a gradient criterion whose estimate exceeds --max-memory (max_memory in a recipe) exits 2 before any work, naming the estimate and the remedies"
    )
    func gradientMemoryLimit() throws {
        let workspace = try RecipeTests.Workspace()
        func prune(
            _ method: String, _ parameters: [String], _ out: String, limit: String, _ options: [String] = []
        ) throws -> ProcessOutcome {
            try CommandRunner.run(
                ["prune", workspace.model, "--method", method] + options + parameters.flatMap { ["--param", $0] } + [
                    "--calib", workspace.text, "--samples", "2", "--seqlen", "16", "--max-memory", limit, "--out",
                    workspace.directory.path(out),
                ])
        }
        // The model step (LLM-Pruner's Taylor importance, Shortened LLaMA's taylor+) and the matrix
        // chain's gradients (taylor) all check the estimate.
        let refusals = [
            try prune("llm-pruner", ["ratio=0.25", "importance=param_first"], "l.gguf", limit: "1K"),
            try prune("blocks", ["remove=1", "keep_ends=false", "criterion=taylor+"], "b.gguf", limit: "1K"),
            try prune("taylor", ["order=2"], "t.gguf", limit: "64K", ["--sparsity", "0.5"]),
        ]
        for refused in refusals {
            #expect(refused.status == 2, "\(refused)")
            #expect(refused.stderr.contains("windows need about"), "\(refused.stderr)")
            #expect(refused.stderr.contains("over the limit of"), "\(refused.stderr)")
            #expect(refused.stderr.contains("--max-memory the limit"), "\(refused.stderr)")
            #expect(!refused.stdout.contains("removed"), "\(refused.stdout)")
        }
        // taylor keeps the gradient and Fisher estimate of every target until its layer is pruned.
        #expect(refusals[2].stderr.contains("gradients kept by the caller"), "\(refusals[2].stderr)")
        for out in ["l.gguf", "b.gguf", "t.gguf"] {
            #expect(!FileManager.default.fileExists(atPath: workspace.directory.path(out)), "\(out)")
            #expect(
                !FileManager.default.fileExists(atPath: workspace.directory.path(out + ".shears-journal")), "\(out)")
        }
        // A criterion without gradients needs no such memory; a limit that suffices runs.
        let magnitude = try prune("llm-pruner", ["ratio=0.25", "importance=l2"], "m.gguf", limit: "1K")
        #expect(magnitude.status == 0, "\(magnitude.stderr)")
        let enough = try prune("llm-pruner", ["ratio=0.25", "importance=param_first"], "e.gguf", limit: "1G")
        #expect(enough.status == 0, "\(enough.stderr)")
        let badSize = try prune("llm-pruner", ["ratio=0.25"], "s.gguf", limit: "lots")
        #expect(badSize.status == 2 && badSize.stderr.contains("--max-memory must be a size"), "\(badSize.stderr)")
        let recipe = try workspace.run(
            """
            local m = shears.load(shears.args.model)
            local c = shears.calibration{ text = shears.args.text, samples = 2, seqlen = 16 }
            shears.prune(m, c, { shears.llm_pruner{ ratio = 0.25 }, max_memory = "1K" })
            """)
        #expect(recipe.status != 0, "\(recipe)")
        #expect(recipe.stderr.contains("over the limit of 1.0 KiB"), "\(recipe.stderr)")
        #expect(recipe.stderr.contains("max_memory the limit"), "\(recipe.stderr)")
        let badField = try workspace.run(
            """
            local m = shears.load(shears.args.model)
            shears.prune(m, nil, { shears.magnitude{ sparsity = 0.5 }, max_memory = "lots" })
            """)
        #expect(
            badField.status != 0 && badField.stderr.contains("field 'max_memory' must be a size"), "\(badField.stderr)")
    }

    @Test("--method llm-pruner equals shears.llm_pruner{}: narrower FFN in the chosen layer, a deci GGUF")
    func llmPrunerCommandEqualsRecipe() throws {
        let workspace = try RecipeTests.Workspace()
        let (a, b, commandOutput, recipeOutput) = try Self.commandAndRecipe(
            workspace,
            [
                workspace.model, "--method", "llm-pruner", "--param", "ratio=0.25", "--param", "layers=1",
                "--param", "importance=param_mix", "--calib", workspace.text, "--samples", "3", "--seqlen", "16",
            ],
            """
            local m = shears.load(shears.args.model)
            local c = shears.calibration{ text = shears.args.text, samples = 3, seqlen = 16 }
            local report = shears.prune(m, c, { shears.llm_pruner{ ratio = 0.25, layers = "1", importance = "param_mix" } })
            print("ffn", m.ffn[1], m.ffn[2], m.arch, report.model_notes[1])
            m:save(shears.args.out, { type = "f32" })
            """)
        #expect(commandOutput.contains("llm-pruner: removed layer 1: 12 of 48 FFN channels"), "\(commandOutput)")
        #expect(commandOutput.contains("parameters: "), "\(commandOutput)")
        #expect(recipeOutput.contains("ffn\t48\t36\tdeci\tremoved layer 1: 12 of 48 FFN channels"), "\(recipeOutput)")
        #expect(a.metadata["general.architecture"] == .string("deci"))
        try Self.expectSameTensors(a, b, keys: ["shears.steps", "shears.calibration"])
        #expect(
            a.metadata["shears.steps"] == .string("llm_pruner(ratio=0.25, importance=param_mix, layers=1)"),
            "\(String(describing: a.metadata["shears.steps"]))")
        let refused = try CommandRunner.run([
            "prune", workspace.model, "--method", "llm-pruner", "--sparsity", "0.5", "--calib", workspace.text,
            "--out", workspace.directory.path("x.gguf"),
        ])
        #expect(
            refused.status == 2 && refused.stderr.contains("give --param ratio=R or --params P"), "\(refused.stderr)")
        let budget = try CommandRunner.run([
            "prune", workspace.model, "--method", "llm-pruner", "--params", "0.02", "--param", "layers=0-1",
            "--calib", workspace.text, "--samples", "2", "--seqlen", "16", "--out", workspace.directory.path("p.gguf"),
        ])
        #expect(budget.status == 0 && budget.stdout.contains("llm-pruner: params 0.02: ratio "), "\(budget)")
        let wrongMethod = try CommandRunner.run([
            "prune", workspace.model, "--method", "wanda", "--sparsity", "0.5", "--params", "0.2", "--calib",
            workspace.text, "--out", workspace.directory.path("q.gguf"),
        ])
        #expect(wrongMethod.status == 2 && wrongMethod.stderr.contains("--params applies to"), "\(wrongMethod.stderr)")
        let badRange = try CommandRunner.run([
            "prune", workspace.model, "--method", "llm-pruner", "--param", "ratio=0.2", "--param", "layers=3-1",
            "--calib", workspace.text, "--out", workspace.directory.path("y.gguf"),
        ])
        #expect(badRange.status == 2 && badRange.stderr.contains("'3-1' is not a layer"), "\(badRange.stderr)")
    }

    @Test("--method flap equals shears.flap{}: narrower layers and ffn_down/attn_output biases in the GGUF")
    func flapCommandEqualsRecipe() throws {
        let workspace = try RecipeTests.Workspace()
        let (a, b, commandOutput, recipeOutput) = try Self.commandAndRecipe(
            workspace,
            [
                workspace.model, "--method", "flap", "--param", "ratio=0.5", "--param", "structure=UL-UM",
                "--calib", workspace.text, "--samples", "4", "--seqlen", "16",
            ],
            """
            local m = shears.load(shears.args.model)
            local c = shears.calibration{ text = shears.args.text, samples = 4, seqlen = 16 }
            local report = shears.prune(m, c, { shears.flap{ ratio = 0.5, structure = "UL-UM" } })
            print("shape", m.ffn, m.kv_heads, #report.model_notes)
            m:save(shears.args.out, { type = "f32" })
            """)
        #expect(commandOutput.contains("flap: removed layer 0: 1 of 2 KV groups"), "\(commandOutput)")
        #expect(recipeOutput.contains("shape\t24\t1\t4"), "\(recipeOutput)")
        try Self.expectSameTensors(a, b, keys: ["shears.steps", "shears.calibration"])
        #expect(a.metadata["shears.steps"] == .string("flap(ratio=0.5, metric=WIFV, structure=UL-UM, bias=true)"))
        let names = Set(a.tensors.map(\.name))
        #expect(names.contains("blk.1.ffn_down.bias") && names.contains("blk.1.attn_output.bias"))
    }

    @Test("--bench records provenance like any other prune")
    func benchProvenance() throws {
        let directory = try TemporaryDirectory()
        let model = try CLITests.tinyModel(in: directory)
        let out = directory.path("bench.gguf")
        let outcome = try CommandRunner.run([
            "prune", model, "--method", "magnitude", "--sparsity", "0.5", "--bench",
            "--out", out, "--type", "f32",
        ])
        #expect(outcome.status == 0, "\(outcome.stderr)")
        #expect(outcome.stdout.contains("GFLOP/s"))
        let file = try GGUFFile(path: out)
        #expect(file.metadata["shears.steps"] == .string("magnitude(sparsity=0.5, scope=matrix)"))
        #expect(file.metadata["shears.calibration"] == .string("none"))
        #expect(file.metadata["shears.sparsity"]?.string?.hasPrefix("0.50") == true)
    }

    @Test("--param errors read as the recipe functions' do")
    func parameterErrors() throws {
        let directory = try TemporaryDirectory()
        let model = try CLITests.tinyModel(in: directory)
        let outcome = try CommandRunner.run([
            "prune", model, "--method", "ria", "--sparsity", "0.5", "--param", "scope=column",
            "--calib-generate", "--out", directory.path("x.gguf"),
        ])
        #expect(outcome.status == 2)
        #expect(
            outcome.stderr == "shears: --param scope must be 'matrix' or 'row', got 'column'\n", "\(outcome.stderr)")
    }

    @Test("shears methods lists every built-in with its parameters")
    func methods() throws {
        let outcome = try CommandRunner.run(["methods"])
        #expect(outcome.status == 0, "\(outcome.stderr)")
        for name in ["magnitude", "wanda", "sparsegpt", "ria", "owl", "dsnot", "reconstruct"] {
            #expect(outcome.stdout.contains("\n\(name): ") || outcome.stdout.hasPrefix("\(name): "), "\(name)")
        }
        #expect(outcome.stdout.contains("  sparsity (a number; in [0, 1)): "))
        #expect(outcome.stdout.contains("  m (a number; default 5.0; in (0, ∞); also M): the outlier multiplier"))
    }
}
