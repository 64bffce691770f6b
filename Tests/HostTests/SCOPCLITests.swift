import Foundation
import ModelIO
import TestSupport
import Testing

/// `shears prune --method scop` and `shears.scop{}` on the tiny model: every estimator and
/// knockoff source writes a model of the expected shape, KV groups and compensation work, and bad
/// input exits 2 with nothing written.
@Suite struct SCOPCLITests {
    /// Runs `--method scop` with `parameters` on the tiny model's calibration text.
    static func prune(
        _ workspace: RecipeTests.Workspace, _ parameters: [String], _ out: String, samples: Int = 4
    ) throws -> ProcessOutcome {
        try CommandRunner.run(
            ["prune", workspace.model, "--method", "scop"] + parameters.flatMap { ["--param", $0] } + [
                "--calib", workspace.text, "--samples", "\(samples)", "--seqlen", "16", "--out",
                workspace.directory.path(out),
            ])
    }

    @Test(
        "every estimator and knockoff source removes the asked-for units and writes a model of that shape",
        arguments: [
            ["estimate=gradient", "knockoffs=unpaired", "steps=4", "batch=2"],
            ["estimate=gradient", "knockoffs=model", "steps=4", "batch=2", "compensation=bias"],
            ["estimate=gradient", "knockoffs=gaussian", "steps=4", "batch=2", "scale=false"],
            ["estimate=gradient", "knockoffs=zeros", "steps=4", "batch=2"],
            ["estimate=local", "knockoffs=unpaired"],
            ["estimate=local", "knockoffs=model", "compensation=ridge"],
            ["estimate=local", "knockoffs=gaussian"],
            ["estimate=local", "knockoffs=zeros"],
            ["estimate=regression", "knockoffs=unpaired", "swaps=40", "batch=2"],
            ["estimate=regression", "knockoffs=model", "swaps=40", "batch=2", "swap_probability=0.2"],
            ["estimate=regression", "knockoffs=gaussian", "swaps=40", "batch=2", "compensation=ridge"],
            ["estimate=regression", "knockoffs=zeros", "swaps=40", "batch=2"],
        ])
    func estimators(_ options: [String]) throws {
        let workspace = try RecipeTests.Workspace()
        let outcome = try Self.prune(workspace, ["ratio=0.5"] + options, "s.gguf")
        #expect(outcome.status == 0, "\(options): \(outcome.stderr)")
        #expect(outcome.stdout.contains("removed layer 0: 2 of 4 query heads"), "\(outcome.stdout)")
        #expect(outcome.stdout.contains("removed layer 1: 24 of 48 FFN channels"), "\(outcome.stdout)")
        let file = try GGUFFile(path: workspace.directory.path("s.gguf"))
        let model = try GGUFModelReader.load(file)
        #expect(model.config.layers.map(\.headCount) == [2, 2])
        #expect(model.config.layers.map(\.ffnSize) == [24, 24])
        let bias = options.contains("compensation=bias")
        #expect((model.tensor("blk.0.ffn_down.bias") != nil) == bias)
        #expect(file.metadata["shears.steps"]?.string?.hasPrefix("scop(") == true)
    }

    @Test(
        "KV groups and a recipe (shears.scop{} is the same step as --method scop); a parameter budget, a ratio per layer and rounded FFN widths"
    )
    func groupsAndRecipe() throws {
        let workspace = try RecipeTests.Workspace()
        let groups = try Self.prune(
            workspace, ["ratio=0.5", "units=kv_groups", "estimate=local", "knockoffs=gaussian"], "g.gguf")
        #expect(groups.status == 0, "\(groups.stderr)")
        #expect(groups.stdout.contains("removed layer 1: 1 of 2 KV groups"), "\(groups.stdout)")
        let model = try GGUFModelReader.load(try GGUFFile(path: workspace.directory.path("g.gguf")))
        #expect(model.config.layers.allSatisfy { $0.kvHeadCount == 1 && $0.headCount == 2 })
        let recipe = try workspace.run(
            """
            local m = shears.load(shears.args.model)
            local c = shears.calibration{ text = shears.args.text, samples = 4, seqlen = 16 }
            shears.prune(m, c, { shears.scop{ ratio = 0.5, units = "kv_groups", estimate = "local", knockoffs = "gaussian" } })
            m:save(shears.args.out, { type = "f32" })
            """, ["out=\(workspace.directory.path("r.gguf"))"])
        #expect(recipe.status == 0, "\(recipe.stderr)")
        try PruneCLITests.expectSameTensors(
            GGUFFile(path: workspace.directory.path("g.gguf")), GGUFFile(path: workspace.directory.path("r.gguf")),
            keys: ["shears.steps", "shears.calibration"])
        let budget = try CommandRunner.run([
            "prune", workspace.model, "--method", "scop", "--params", "0.2", "--param", "estimate=local", "--calib",
            workspace.text, "--samples", "4", "--seqlen", "16", "--out", workspace.directory.path("p.gguf"),
        ])
        #expect(budget.status == 0, "\(budget.stderr)")
        #expect(budget.stdout.contains("params 0.2: ratio"), "\(budget.stdout)")
        let perLayer = try Self.prune(workspace, ["ratio=0.5,0.25", "estimate=local"], "l.gguf")
        #expect(perLayer.status == 0, "\(perLayer.stderr)")
        let layers = try GGUFModelReader.load(try GGUFFile(path: workspace.directory.path("l.gguf"))).config.layers
        #expect(layers.map(\.ffnSize) == [24, 36] && layers.map(\.headCount) == [2, 4], "\(layers)")
        // 30% of 48 channels is 14; the kept 34 round to 32.
        let rounded = try Self.prune(workspace, ["ratio=0.3", "estimate=local", "round_to=16"], "r16.gguf")
        #expect(rounded.status == 0, "\(rounded.stderr)")
        let widths = try GGUFModelReader.load(try GGUFFile(path: workspace.directory.path("r16.gguf"))).config.layers
        #expect(widths.map(\.ffnSize) == [32, 32], "\(widths)")
    }

    @Test("a long estimator draws its own progress bar (steps, swap sets) when progress is shown")
    func progressBar() throws {
        let workspace = try RecipeTests.Workspace()
        let outcome = try CommandRunner.run(
            [
                "prune", workspace.model, "--method", "scop", "--param", "ratio=0.5", "--param", "estimate=regression",
                "--param", "swaps=6", "--param", "batch=1", "--calib", workspace.text, "--samples", "4", "--seqlen",
                "16", "--out", workspace.directory.path("p.gguf"),
            ], environment: ["SHEARS_PROGRESS": "1"])
        #expect(outcome.status == 0, "\(outcome.stderr)")
        #expect(outcome.stderr.contains("scop regression [") && outcome.stderr.contains("6/6"), "\(outcome.stderr)")
    }

    @Test("bad input exits 2, names the problem and writes nothing")
    func badInput() throws {
        let workspace = try RecipeTests.Workspace()
        let cases: [([String], Int, String)] = [
            (["ratio=0.5", "units=heads,kv_groups"], 4, "heads and kv_groups both select attention"),
            (["ratio=0.5", "units=blocks"], 4, "'blocks' is not heads, kv_groups or channels"),
            (["ratio=0.5", "estimate=local", "scale=true"], 4, "leave scale out"),
            (["ratio=0.5", "estimate=regression", "scale=true"], 4, "leave scale out"),
            (["ratio=0.5", "estimate=regression", "swaps=0"], 4, "swaps"),
            (["ratio=0.5", "estimate=regression", "swap_probability=1"], 4, "swap_probability"),
            (["ratio=0.5", "knockoffs=unpaired"], 1, "unpaired knockoffs need at least 2 calibration windows"),
            (["ratio=0.5", "estimate=annealing"], 4, "estimate"),
            (["ratio=0.5", "compensation=mean"], 4, "compensation"),
            (["ratio=1.5"], 4, "ratio"),
        ]
        for (index, (parameters, samples, message)) in cases.enumerated() {
            let out = "bad\(index).gguf"
            let outcome = try Self.prune(workspace, parameters + ["steps=2"], out, samples: samples)
            #expect(outcome.status == 2, "\(parameters): \(outcome.stderr)")
            #expect(outcome.stderr.contains(message), "\(parameters): \(outcome.stderr)")
            #expect(!FileManager.default.fileExists(atPath: workspace.directory.path(out)))
        }
    }
}
