import Foundation
import ModelIO
import TestSupport
import Testing

/// Allocation options of the structured steps from Lua and the command line: per-layer ratios
/// (`ratio = function(layer, layers) ... end`, a list, or comma-separated values), `params` on the
/// unit steps and `round_to`, with their refusals.
@Suite struct StructuredAllocationTests {
    /// The recipe prelude: the tiny model (2 layers, FFN 48, 2 KV groups of 2 heads) and 4 × 16
    /// calibration windows.
    static let prelude = """
        local m = shears.load(shears.args.model)
        local c = shears.calibration{ text = shears.args.text, samples = 4, seqlen = 16 }

        """

    @Test("ratio = function(layer, layers): called once per layer by shears.prune, as a list or the command line")
    func layerFunction() throws {
        let workspace = try RecipeTests.Workspace()
        let (command, recipe, _, output) = try PruneCLITests.commandAndRecipe(
            workspace,
            [
                workspace.model, "--method", "channels", "--param", "criterion=magnitude", "--param", "ratio=0.5,0.25",
                "--calib", workspace.text, "--samples", "4", "--seqlen", "16",
            ],
            Self.prelude + """
                local calls = {}
                local step = shears.channels{ criterion = "magnitude", ratio = function(layer, layers)
                    calls[#calls + 1] = layer .. "/" .. layers
                    return layer == 0 and 0.5 or 0.25
                end }
                print("made", #calls, tostring(step))
                shears.prune(m, c, { step })
                print("pruned", table.concat(calls, ","), m.ffn[1], m.ffn[2])
                local listed = shears.load(shears.args.model)
                shears.prune(listed, c, { shears.channels{ criterion = "magnitude", ratio = { 0.5, 0.25 } } })
                print("listed", listed.ffn[1], listed.ffn[2])
                m:save(shears.args.out, { type = "f32" })
                """)
        #expect(output.contains("made\t0\tshears.Step: channels(ratio=function, criterion=magnitude)"), "\(output)")
        // Layer 0 loses Int(0.5·48) = 24 channels, layer 1 Int(0.25·48) = 12.
        #expect(output.contains("pruned\t0/2,1/2\t24\t36") && output.contains("listed\t24\t36"), "\(output)")
        try PruneCLITests.expectSameTensors(command, recipe, keys: [])
        #expect(command.metadata["shears.steps"] == .string("channels(ratio={0.5,0.25}, criterion=magnitude)"))
        #expect(recipe.metadata["shears.steps"] == command.metadata["shears.steps"])
    }

    @Test("per-layer ratios on FLAP UL-UM and LLM-Pruner; params and round_to on channels")
    func otherSteps() throws {
        let outcome = try RecipeTests.Workspace().run(
            Self.prelude + """
                local function fresh() return shears.load(shears.args.model) end
                local flap = fresh()
                shears.prune(flap, c, { shears.flap{ structure = "UL-UM", ratio = function(layer) return 0.5 * layer end } })
                local pruner = fresh()
                shears.prune(pruner, c, { shears.llm_pruner{ importance = "l1", layers = "0-1", ratio = { 0.6, 0.1 } } })
                local rounded = fresh()
                shears.prune(rounded, c, { shears.channels{ ratio = 0.3, round_to = 16 } })
                local budget = fresh()
                local report = shears.prune(budget, c, { shears.channels{ params = 0.1 } })
                print("flap", flap.ffn[1], flap.ffn[2], flap.kv_heads[1], flap.kv_heads[2])
                print("pruner", pruner.ffn[1], pruner.ffn[2], pruner.kv_heads[1], pruner.kv_heads[2])
                print("rounded", rounded.ffn, report.model_notes[1])
                """)
        #expect(outcome.status == 0, "\(outcome.stderr)")
        // FLAP: layer 0 at ratio 0 keeps all, layer 1 at 0.5 drops 24 channels and 1 of 2 KV groups.
        #expect(outcome.stdout.contains("flap\t48\t24\t2\t1"), "\(outcome.stdout)")
        // LLM-Pruner: 48 − Int(48·0.4) = 29 removed and (16 − Int(16·0.4))/8 = 1 group; 48 − Int(48·0.9) = 5.
        #expect(outcome.stdout.contains("pruner\t19\t43\t1\t2"), "\(outcome.stdout)")
        // 48 − Int(0.3·48) = 34 kept, rounded to 32.
        #expect(outcome.stdout.contains("rounded\t32\tparams 0.1: ratio "), "\(outcome.stdout)")
    }

    @Test("Scripts/prune-flap.lua, the README's structured job, writes a narrower model with rounded widths")
    func flapRecipe() throws {
        let workspace = try RecipeTests.Workspace()
        let out = workspace.directory.path("smaller.gguf")
        let outcome = try CommandRunner.run([
            "run", RecipeTests.script("prune-flap.lua"), "model=\(workspace.model)", "out=\(out)", "params=0.2",
            "round_to=16", "structure=UL-UM", "samples=2", "seqlen=16", "eval_chunks=2", "type=f32",
        ])
        #expect(outcome.status == 0, "\(outcome.stderr)")
        #expect(outcome.stdout.contains("dense perplexity: ") && outcome.stdout.contains("pruned perplexity: "))
        let file = try GGUFFile(path: out)
        // ffn_down is [hidden, ffn]: its input width is the layer's kept FFN width.
        let widths = (0..<2).map { layer in file.tensors.first { $0.name == "blk.\(layer).ffn_down.weight" }!.shape[1] }
        #expect(widths.allSatisfy { $0 % 16 == 0 } && widths.contains { $0 < 48 }, "\(widths)")
        let parameters = file.tensors.reduce(0) { $0 + $1.shape.reduce(1, *) }
        #expect(outcome.stdout.contains("parameters: \(parameters) of "), "\(outcome.stdout)")
    }

    @Test(
        "bad per-layer ratios and round_to read clearly",
        arguments: [
            ("shears.flap{ ratio = function() return 0.2 end }", "AL-AM sets one threshold for the model"),
            ("shears.minitron{ ratio = { 0.1, 0.2 } }", "field 'ratio' must be a number"),
            ("shears.llm_pruner{ global = true, ratio = { 0.1, 0.2 } }", "global ranking takes one ratio"),
            ("shears.channels{ ratio = { 0.1, 1.2 } }", "the ratio of layer 1 must be in [0, 1), got 1.2"),
            ("shears.flap{ ratio = 0.2, round_to = 0 }", "round_to must be at least 1, got 0"),
            ("shears.heads{ ratio = 0.5, round_to = 8 }", "round_to"),
            (
                "shears.prune(m, c, { shears.channels{ ratio = { 0.1, 0.2, 0.3 } } })",
                "ratio gives 3 values; the model has 2 layers"
            ),
            (
                "shears.prune(m, c, { shears.channels{ ratio = function(layer) if layer == 0 then return 0.1 end end } })",
                "the function must return a number (the ratio of layer 1)"
            ),
            (
                "shears.prune(m, c, { shears.channels{ ratio = function() error('no ratio here') end } })",
                "no ratio here"
            ),
            (
                "shears.prune(m, c, { shears.channels{ ratio = function() return 1.2 end } })",
                "channels{ ratio = function }: channels: the ratio of layer 0 must be in [0, 1), got 1.2"
            ),
        ])
    func recipeRefusals(source: String, message: String) throws {
        let outcome = try RecipeTests.Workspace().run(Self.prelude + source)
        #expect(outcome.status == 1, "\(outcome.stderr)")
        #expect(outcome.stderr.contains(message), "\(outcome.stderr)")
    }

    @Test(
        "bad allocation options on the command line exit 2 and write nothing",
        arguments: [
            (["--method", "flap", "--param", "ratio=0.2", "--param", "round_to=0"], "round_to"),
            (["--method", "heads", "--param", "ratio=0.5", "--param", "round_to=64"], "round_to"),
            (["--method", "channels", "--param", "ratio=0.1,x"], "comma-separated numbers"),
            (["--method", "channels", "--param", "ratio=0.1,0.2,0.3"], "the model has 2 layers"),
            (["--method", "channels", "--param", "ratio=0.1", "--params", "0.1"], "not both"),
        ])
    func commandRefusals(arguments: [String], message: String) throws {
        let workspace = try RecipeTests.Workspace()
        let out = workspace.directory.path("out.gguf")
        let outcome = try CommandRunner.run(
            ["prune", workspace.model] + arguments + ["--calib", workspace.text, "--samples", "4", "--seqlen", "16"]
                + ["--out", out])
        #expect(outcome.status == 2, "\(outcome.stderr)")
        #expect(outcome.stderr.contains(message), "\(outcome.stderr)")
        #expect(!FileManager.default.fileExists(atPath: out))
    }
}
