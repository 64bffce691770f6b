import Foundation
import ModelIO
import TestSupport
import Testing

/// `shears.owl`, `shears.dsnot` and `shears.layer_sparsity` in recipes on the tiny model: chains,
/// report tables with per-layer targets and outlier ratios, provenance, and errors in Lua's words.
@Suite("OWL, DSnoT and per-layer sparsity in recipes")
struct OWLRecipeTests {
    @Test("owl + wanda: two layers at p ∓ λ, outlier ratios in the report, the mean target kept")
    func owlWanda() throws {
        let workspace = try RecipeTests.Workspace()
        let out = workspace.directory.path("owl.gguf")
        let outcome = try workspace.run(
            """
            local m = shears.load(shears.args.model)
            local c = shears.calibration{ text = shears.args.text, samples = 4, seqlen = 32, seed = 1 }
            local report = shears.prune(m, c, { shears.owl{ sparsity = 0.5, lambda = 0.08, M = 2 }, shears.wanda{} })
            assert(#report.layers == 2)
            local a, b = report.layers[1], report.layers[2]
            assert(a.outlier_ratio >= 0 and b.outlier_ratio >= 0 and a.outlier_ratio ~= b.outlier_ratio)
            local low, high = math.min(a.target, b.target), math.max(a.target, b.target)
            assert(math.abs(low - 0.42) < 1e-12 and math.abs(high - 0.58) < 1e-12, low .. " " .. high)
            -- more outliers, lower sparsity
            assert((a.outlier_ratio > b.outlier_ratio) == (a.target < b.target))
            for _, layer in ipairs(report.layers) do
                for name, matrix in pairs(layer.matrices) do
                    assert(matrix.target == layer.target, name)
                    assert(matrix.notes[1]:find("^owl: outlier ratio"), matrix.notes[1])
                end
            end
            assert(math.abs(report.sparsity - 0.5) < 0.03, report.sparsity)
            m:save(shears.args.out, { type = "f32" })
            print(string.format("owl %.4f %.4f", a.target, b.target))
            """, ["out=\(out)"])
        #expect(outcome.status == 0, "\(outcome.stderr)")
        #expect(outcome.stdout.hasPrefix("owl "))
        let file = try GGUFFile(path: out)
        #expect(file.metadata["shears.steps"] == .string("owl(sparsity=0.5, m=2.0, lambda=0.08) + wanda()"))
    }

    @Test("owl N:M gives each layer its own pattern; wanda{} and sparsegpt{} follow it")
    func owlPattern() throws {
        let outcome = try RecipeTests.Workspace().run(
            """
            local m = shears.load(shears.args.model)
            local c = shears.calibration{ text = shears.args.text, samples = 4, seqlen = 32, seed = 1 }
            local report = shears.prune(m, c, { shears.owl{ pattern = "4:8", lambda = 2, m = 2 }, shears.wanda{} })
            local patterns = { report.layers[1].pattern, report.layers[2].pattern }
            table.sort(patterns)
            assert(patterns[1] == "3:8" and patterns[2] == "5:8", patterns[1] .. " " .. patterns[2])
            local again = shears.load(shears.args.model)
            local r2 = shears.prune(again, c, { shears.owl{ pattern = "4:8", lambda = 2, m = 2 }, shears.sparsegpt{} })
            assert(r2.layers[1].pattern == report.layers[1].pattern)
            print("ok")
            """)
        #expect(outcome.status == 0, "\(outcome.stderr)")
    }

    @Test("wanda + dsnot keeps the sparsity; layer_sparsity sets one target per layer")
    func dsnotAndLayerSparsity() throws {
        let outcome = try RecipeTests.Workspace().run(
            """
            local m = shears.load(shears.args.model)
            local c = shears.calibration{ text = shears.args.text, samples = 4, seqlen = 32, seed = 1 }
            local report = shears.prune(m, c, { shears.wanda{ sparsity = 0.5 },
                shears.dsnot{ layers = { "attn_q", "ffn_down" }, grow_pruned_only = true, max_cycles = 10, threshold = 0.01 } })
            assert(report.sparsity == 0.5, report.sparsity)
            local notes = report.layers[1].matrices["blk.0.attn_q.weight"].notes
            assert(notes[1]:find("^dsnot: "), tostring(notes[1]))
            assert(#report.layers[1].matrices["blk.0.attn_k.weight"].notes == 0)
            local ramp = {}
            for l = 0, m.layers - 1 do ramp[#ramp + 1] = 0.25 + 0.5 * l / (m.layers - 1) end
            local fresh = shears.load(shears.args.model)
            local r = shears.prune(fresh, c, { shears.layer_sparsity(ramp), shears.wanda{} })
            assert(r.layers[1].target == 0.25 and r.layers[2].target == 0.75)
            assert(fresh:tensor("blk.0.attn_q.weight"):sparsity() == 0.25 and fresh:tensor("blk.1.ffn_up.weight"):sparsity() == 0.75)
            local ramped = shears.load(shears.args.model)
            local rf = shears.prune(ramped, c, { shears.layer_sparsity(ramped, function(layer, layers)
                return 0.25 + 0.5 * layer / (layers - 1)
            end), shears.wanda{} })
            assert(rf.layers[1].target == 0.25 and rf.layers[2].target == 0.75)
            print(tostring(shears.layer_sparsity(ramp)), tostring(shears.dsnot{}))
            """)
        #expect(outcome.status == 0, "\(outcome.stderr)")
        #expect(outcome.stdout.contains("shears.Step: layer_sparsity(layers=2, mean=0.5)"))
        #expect(outcome.stdout.contains("dsnot(max_cycles=50, threshold=0.1, power=1.0, layers=attention)"))
    }

    @Test(
        "the example recipes run end to end",
        arguments: [
            ("prune-owl.lua", [], "layer  1: outlier ratio"),
            ("prune-owl.lua", ["method=sparsegpt"], "layer  0: outlier ratio"),
            ("prune-owl.lua", ["method=ria", "pattern=2:4"], ":4), sparsity 0.5"),
            ("prune-wanda-dsnot.lua", [], "pruned linear sparsity: 0.5917"),
            ("prune-ramp.lua", [], "layer  1: target 0.6000"),
        ])
    func examples(script: String, options: [String], expected: String) throws {
        let workspace = try RecipeTests.Workspace()
        let out = workspace.directory.path("pruned.gguf")
        let outcome = try CommandRunner.run(
            [
                "run", RecipeTests.script(script), "model=\(workspace.model)", "calib=\(workspace.text)",
                "eval=\(workspace.text)", "samples=4", "seqlen=32", "eval_seqlen=64",
                "eval_chunks=2", "out=\(out)", "type=f32",
            ] + options)
        #expect(outcome.status == 0, "\(outcome.stderr)")
        #expect(outcome.stdout.contains(expected), "\(outcome.stdout)")
        #expect(outcome.stdout.contains("pruned perplexity: ") && FileManager.default.fileExists(atPath: out))
    }

    @Test("prune-owl.lua names the methods it takes when given another")
    func owlRecipeUnknownMethod() throws {
        let workspace = try RecipeTests.Workspace()
        let outcome = try CommandRunner.run([
            "run", RecipeTests.script("prune-owl.lua"), "model=\(workspace.model)", "method=obs",
        ])
        #expect(outcome.status != 0)
        #expect(
            outcome.stderr.contains("unknown method=obs (use wanda, sparsegpt, ria or magnitude)"), "\(outcome.stderr)")
    }

    @Test(
        "chain and parameter errors read clearly",
        arguments: [
            (
                "shears.prune(m, c, { shears.wanda{} })",
                "no sparsity: give sparsity = ... or put an allocator such as shears.owl{...} first"
            ),
            (
                "shears.prune(m, c, { shears.owl{ sparsity = 0.7 }, shears.wanda{ sparsity = 0.5 } })",
                "sparsity given twice: by owl(sparsity=0.7, m=5.0, lambda=0.08) and wanda(sparsity=0.5)"
            ),
            ("shears.prune(m, c, { shears.dsnot{}, shears.wanda{ sparsity = 0.5 } })", "cannot follow dsnot (refiner)"),
            (
                "shears.prune(m, c, { shears.layer_sparsity{ 0.5, 0.5, 0.5 }, shears.dsnot{}, shears.reconstruct{} })",
                "step dsnot refines a mask but no selector (such as wanda) chooses one before it"
            ),
            (
                "shears.layer_sparsity(m, function(layer) return layer == 1 and 'steep' or 0.5 end)",
                "bad argument #2 to 'layer_sparsity' (the function must return a number (the sparsity of layer 1))"
            ),
            (
                "shears.layer_sparsity(m, function(layer) error('no plan for layer ' .. layer) end)",
                "no plan for layer 0"
            ),
            ("shears.owl{ sparsity = 0.5, lambda = -1 }", "OWL lambda -1.0 must be finite and ≥ 0"),
            ("shears.owl{ sparsity = 0.5, lambda = 0/0 }", "OWL lambda"),
            ("shears.owl{ sparsity = 0.5, m = 0 }", "OWL outlier multiplier M 0.0 must be positive and finite"),
            ("shears.owl{ sparsity = 0.5, m = 2, M = 3 }", "not both"),
            ("shears.owl{ lambda = 0.1 }", "OWL needs a sparsity"),
            ("shears.dsnot{ max_cycles = -1 }", "DSnoT max_cycles -1 must be ≥ 0"),
            ("shears.dsnot{ threshold = 1/0 }", "DSnoT threshold inf must be finite"),
            ("shears.dsnot{ layers = 'heads' }", "unknown DSnoT layer selection \"heads\""),
            ("shears.dsnot{ cycles = 3 }", "unknown field 'cycles'"),
            ("shears.layer_sparsity{ 0.5, 1.5 }", "layer sparsity for layer 1 is 1.5"),
            (
                "shears.prune(m, c, { shears.layer_sparsity{ 0.5 }, shears.wanda{} })",
                "layer sparsity lists 1 values for a model of 2 layers"
            ),
        ])
    func errors(source: String, message: String) throws {
        let outcome = try RecipeTests.Workspace().run(
            """
            local m = shears.load(shears.args.model)
            local c = shears.calibration{ text = shears.args.text, samples = 2, seqlen = 16, seed = 1 }
            """ + "\n" + source)
        #expect(outcome.status == 1, "\(outcome.stderr)")
        #expect(outcome.stderr.contains(message), "\(outcome.stderr)")
    }
}
