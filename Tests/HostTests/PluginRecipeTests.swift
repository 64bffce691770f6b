import Foundation
import ModelIO
import TestSupport
import Testing

/// `shears.plugin` in recipes: listing, steps with every selector, reconstruction after them,
/// parameters, path resolution, and failures that stop the recipe before it saves.
@Suite("plugins in recipes")
struct PluginRecipeTests {
    /// The tiny model, a text, and a recipe that loads a plugin and saves a pruned model.
    final class Workspace {
        let directory: TemporaryDirectory
        let model: String
        let text: String
        let output: String

        init() throws {
            directory = try TemporaryDirectory()
            model = try CLITests.tinyModel(in: directory)
            text = try CLITests.sampleText(in: directory)
            output = directory.path("pruned.gguf")
        }

        /// Runs `source` with `--plugin-dir` the build directory (unless `pluginDir` is false).
        func run(_ source: String, pluginDir: Bool = true) throws -> ProcessOutcome {
            let path = directory.path("recipe.lua")
            try source.write(toFile: path, atomically: true, encoding: .utf8)
            let dirs = pluginDir ? ["--plugin-dir", CommandRunner.binary.deletingLastPathComponent().path] : []
            return try CommandRunner.run(["run", path] + dirs + ["model=\(model)", "text=\(text)", "out=\(output)"])
        }

        /// Prunes with the step expression `step` and saves to `output`.
        func prune(_ step: String, plugin: String = "libShearsWandaPlugin.so") throws -> ProcessOutcome {
            try run(
                """
                local p = shears.plugin("\(plugin)")
                local m = shears.load(shears.args.model)
                local calib = shears.calibration{ text = shears.args.text, samples = 2, seqlen = 16 }
                shears.prune(m, calib, { \(step) })
                m:save(shears.args.out, { type = "f32" })
                """)
        }

        var saved: Bool { FileManager.default.fileExists(atPath: output) }
    }

    @Test("p:criteria() lists ids, descriptions, statistics and parameters")
    func criteria() throws {
        let outcome = try Workspace().run(
            """
            local p = shears.plugin("libShearsFixtureParams.so")
            assert(p.id == "org.shears.fixtures.params" and p.abi == "1.1.0")
            for _, c in ipairs(p:criteria()) do
                print(c.id, #c.statistics, #c.parameters, c.parameters[1].name, c.parameters[1].default, c.parameters[1].maximum)
            end
            print(tostring(p):match("^shears.Plugin: org.shears.fixtures.params") ~= nil)
            """)
        #expect(outcome.status == 0, "\(outcome.stderr)")
        #expect(outcome.stdout == "params\t0\t4\tscale\t1.0\t4.0\ntrue\n")
    }

    @Test("p:criterion(id) is a callable handle with properties that keeps the library loaded after p:close()")
    func criterionHandle() throws {
        let outcome = try Workspace().run(
            """
            local p = shears.plugin("libShearsFixtureParams.so")
            local c = p:criterion("params")
            print(tostring(c), c.id, c.version ~= nil, #c.parameters, c.parameters[2].name, c.parameters[2].type)
            p:close()
            collectgarbage()
            collectgarbage()
            print(tostring(p), tostring(c{ scale = 2, sparsity = 0.5 }))
            print(pcall(c, 5))
            """)
        #expect(outcome.status == 0, "\(outcome.stderr)")
        let path = CommandRunner.binary.deletingLastPathComponent().appendingPathComponent("libShearsFixtureParams.so")
            .path
        #expect(
            outcome.stdout == """
                shears.PluginCriterion: org.shears.fixtures.params/params 1.0.0\tparams\ttrue\t4\tshift\tinteger
                shears.Plugin (closed)\tshears.Step: org.shears.fixtures.params/params(scale=2.0, shift=0, negate=false, mode="abs", sparsity=0.5)
                false\tplugin \(path): criterion 'params': the step options must be a table, got number

                """)
    }

    @Test("calling what is not a criterion, or with bad arguments, fails at the recipe's line")
    func badCalls() throws {
        for (source, expected) in [
            (
                "local p = shears.plugin(\"libShearsWandaPlugin.so\")\np{}",
                "recipe.lua:2: attempt to call a shears.Plugin value (local 'p')"
            ),
            (
                "local p = shears.plugin(\"libShearsWandaPlugin.so\")\nlocal c = p:criterion()",
                "recipe.lua:2: bad argument #1 to 'criterion' (string expected, got no value)"
            ),
            (
                "local p = shears.plugin(\"libShearsWandaPlugin.so\")\nlocal x = p.ids",
                "recipe.lua:2: unknown field 'ids' of shears.Plugin"
            ),
            ("local p = shears.plugin({})", "recipe.lua:1: bad argument #1 to 'plugin' (string expected, got table)"),
        ] {
            let outcome = try Workspace().run(source)
            #expect(outcome.status == 1)
            #expect(outcome.stderr.contains(expected), "\(outcome.stderr)")
        }
    }

    @Test("a plugin Wanda step prunes exactly like shears.wanda, per row and 2:4, and reconstruction may follow")
    func sameAsBuiltin() throws {
        for (plugin, builtin) in [
            ("p:criterion(\"wanda\"){ sparsity = 0.5 }", "shears.wanda{ sparsity = 0.5 }"),
            ("p:criterion(\"wanda\"){ pattern = \"2:4\" }", "shears.wanda{ pattern = \"2:4\" }"),
            (
                "p:criterion(\"wanda\"){ sparsity = 0.5 }, shears.reconstruct{}",
                "shears.wanda{ sparsity = 0.5 }, shears.reconstruct{}"
            ),
        ] {
            let workspace = try Workspace()
            let viaPlugin = try workspace.prune(plugin)
            #expect(viaPlugin.status == 0, "\(viaPlugin.stderr)")
            let pluginWeights = try Self.linearWeights(workspace.output)
            let viaBuiltin = try workspace.prune(builtin)
            #expect(viaBuiltin.status == 0, "\(viaBuiltin.stderr)")
            let same = try pluginWeights == Self.linearWeights(workspace.output)
            #expect(same, "\(plugin)")
        }
    }

    @Test(
        "a plugin step without a sparsity follows shears.owl (also N:M) like shears.wanda; DSnoT may refine its 2:4 mask"
    )
    func afterAllocator() throws {
        for (plugin, builtin) in [
            (
                "shears.owl{ sparsity = 0.6, m = 2 }, p:criterion(\"wanda\"){}",
                "shears.owl{ sparsity = 0.6, m = 2 }, shears.wanda{}"
            ),
            (
                "shears.owl{ pattern = \"4:8\", lambda = 2, m = 2 }, p:criterion(\"wanda\"){}",
                "shears.owl{ pattern = \"4:8\", lambda = 2, m = 2 }, shears.wanda{}"
            ),
            (
                "p:criterion(\"wanda\"){ pattern = \"2:4\" }, shears.dsnot{}",
                "shears.wanda{ pattern = \"2:4\" }, shears.dsnot{}"
            ),
        ] {
            let workspace = try Workspace()
            let viaPlugin = try workspace.prune(plugin)
            #expect(viaPlugin.status == 0, "\(viaPlugin.stderr)")
            let pluginWeights = try Self.linearWeights(workspace.output)
            let viaBuiltin = try workspace.prune(builtin)
            #expect(viaBuiltin.status == 0, "\(viaBuiltin.stderr)")
            let same = try pluginWeights == Self.linearWeights(workspace.output)
            #expect(same, "\(plugin)")
        }
    }

    @Test("a unit criterion of the C example prunes like shears.channels{}/heads{}; unit options are checked")
    func unitCriterion() throws {
        for (plugin, builtin) in [
            (
                "p:criterion(\"wanda_sp\"){ unit = \"channels\", ratio = 0.25, compensation = \"bias\" }",
                "shears.channels{ criterion = \"wanda_sp\", ratio = 0.25, compensation = \"bias\" }"
            ),
            (
                "p:criterion(\"gate_taylor\"){ unit = \"heads\", ratio = 0.5, layers = \"1\" }",
                "shears.heads{ criterion = \"taylor\", ratio = 0.5, layers = \"1\" }"
            ),
        ] {
            let workspace = try Workspace()
            let viaPlugin = try workspace.prune(plugin, plugin: "libShearsUnitsPlugin.so")
            #expect(viaPlugin.status == 0, "\(viaPlugin.stderr)")
            let pluginWeights = try Self.linearWeights(workspace.output)
            let viaBuiltin = try workspace.prune(builtin, plugin: "libShearsUnitsPlugin.so")
            #expect(viaBuiltin.status == 0, "\(viaBuiltin.stderr)")
            let same = try pluginWeights == Self.linearWeights(workspace.output)
            #expect(same, "\(plugin)")
        }
        for (step, expected) in [
            ("p:criterion(\"wanda_sp\"){ ratio = 0.5 }", "a unit criterion needs unit = \"heads\""),
            ("p:criterion(\"wanda_sp\"){ unit = \"channels\" }", "a unit criterion needs ratio = R"),
            (
                "p:criterion(\"wanda_sp\"){ unit = \"channels\", ratio = 0.5, sparsity = 0.5 }",
                "unknown parameter 'sparsity'"
            ),
            ("p:criterion(\"wanda_sp\"){ unit = \"rows\", ratio = 0.5 }", "a unit criterion needs unit"),
        ] {
            let workspace = try Workspace()
            let outcome = try workspace.prune(step, plugin: "libShearsUnitsPlugin.so")
            #expect(outcome.status == 1 && outcome.stderr.contains(expected), "\(outcome.stderr)")
            #expect(!workspace.saved)
        }
    }

    @Test("a sparsity on both an allocator and a plugin step is refused like for built-in methods")
    func sparsityTwice() throws {
        let workspace = try Workspace()
        let outcome = try workspace.prune("shears.owl{ sparsity = 0.6 }, p:criterion(\"wanda\"){ sparsity = 0.5 }")
        #expect(outcome.status == 1)
        #expect(
            outcome.stderr.contains(
                "sparsity given twice: by owl(sparsity=0.6, m=5.0, lambda=0.08) and org.shears.examples.wanda/wanda(sparsity=0.5)"
            ),
            "\(outcome.stderr)")
        #expect(!workspace.saved)
    }

    @Test("the step is described in the saved provenance with its parameters")
    func provenance() throws {
        let workspace = try Workspace()
        let outcome = try workspace.prune(
            "p:criterion(\"params\"){ scale = 2, mode = \"square\", sparsity = 0.25, selector = \"matrix\" }",
            plugin: "libShearsFixtureParams.so")
        #expect(outcome.status == 0, "\(outcome.stderr)")
        let steps = try GGUFFile(path: workspace.output).metadata["shears.steps"]?.string
        #expect(
            steps
                == "org.shears.fixtures.params/params(scale=2.0, shift=0, negate=false, mode=\"square\", sparsity=0.25, selector=matrix)"
        )
    }

    @Test(
        "failures stop the recipe with the plugin and criterion named, and nothing is saved",
        arguments: [
            (
                "libShearsFixtureNaNScores.so", "p:criterion(\"nan\"){ sparsity = 0.5 }",
                "criterion 'nan': score wrote NaN for blk.0.attn_q.weight at row 31, column 31"
            ),
            (
                "libShearsFixtureScoreError.so", "p:criterion(\"refuse\"){ sparsity = 0.5 }",
                "criterion 'refuse': score failed on blk.0.attn_q.weight: INVALID_ARGUMENT: fixture: score refuses every matrix"
            ),
            (
                "libShearsFixtureSelect.so", "p:criterion(\"row_select\"){ sparsity = 0.5, miscount = true }",
                "criterion 'row_select': select wrote a bad mask for blk.0.attn_q.weight: prunes 511 of 1024 weights, not 512"
            ),
            (
                "libShearsFixtureParams.so", "p:criterion(\"params\"){ sparsity = 0.5, scale = 9 }",
                "criterion 'params': parameter 'scale': 9.0 is outside [0.5, 4.0]"
            ),
            (
                "libShearsFixtureParams.so", "p:criterion(\"params\"){ sparsity = 0.5, shift = \"one\" }",
                "criterion 'params': parameter 'shift' must be an integer, got a string (\"one\")"
            ),
            (
                "libShearsFixtureParams.so", "p:criterion(\"params\"){ sparsity = 0.5, scael = 2 }",
                "criterion 'params': unknown parameter 'scael' (parameters: scale, shift, negate, mode; step options: pattern, selector, sparsity)"
            ),
            (
                "libShearsFixtureParams.so", "p:criterion(\"params\"){ sparsity = 0.5, mode = \"cube\" }",
                "criterion 'params': create_criterion failed: INVALID_ARGUMENT: fixture: mode must be \"abs\" or \"square\", got \"cube\""
            ),
            (
                "libShearsWandaPlugin.so", "p:criterion(\"wand\"){ sparsity = 0.5 }",
                "criterion 'wand': no such criterion (the plugin offers: wanda)"
            ),
            (
                "libShearsWandaPlugin.so", "p:criterion(\"wanda\"){ selector = \"plugin\", sparsity = 0.5 }",
                "criterion 'wanda': the criterion has no select function"
            ),
        ])
    func failures(plugin: String, step: String, expected: String) throws {
        let workspace = try Workspace()
        let outcome = try workspace.prune(step, plugin: plugin)
        #expect(outcome.status == 1)
        let path = CommandRunner.binary.deletingLastPathComponent().appendingPathComponent(plugin).path
        #expect(
            outcome.stderr.contains("recipe.lua:4: plugin \(path): \(expected)")
                || outcome.stderr.contains("recipe.lua:1: plugin \(path): \(expected)"),
            "\(outcome.stderr)")
        #expect(!workspace.saved)
    }

    @Test(
        "loading failures name the file; relative paths resolve against the recipe's directory without --plugin-dir",
        arguments: [
            ("libShearsFixtureBadMajor.so", "built for plugin ABI 99.0.0"),
            ("libShearsFixtureSmallEntry.so", "entry struct_size 80 is smaller than the minimum 88"),
            ("libShearsFixtureNoEntry.so", "missing entry symbol shears_plugin_get_entry"),
            ("libShearsFixtureInitFails.so", "init failed: UNSUPPORTED: fixture: init always fails"),
            ("libnothing.so", "not found in --plugin-dir"),
        ])
    func loadFailures(plugin: String, expected: String) throws {
        let workspace = try Workspace()
        let outcome = try workspace.prune("p:criterion(\"x\"){}", plugin: plugin)
        #expect(outcome.status == 1)
        #expect(
            outcome.stderr.contains("recipe.lua:1: plugin ") && outcome.stderr.contains(expected), "\(outcome.stderr)")
        #expect(!workspace.saved)
    }

    @Test("without --plugin-dir a relative path is the recipe's directory's file; a text .so is refused")
    func recipeDirectory() throws {
        let workspace = try Workspace()
        try "text\n".write(toFile: workspace.directory.path("libfake.so"), atomically: true, encoding: .utf8)
        let outcome = try workspace.run("local p = shears.plugin(\"libfake.so\")", pluginDir: false)
        #expect(outcome.status == 1)
        #expect(
            outcome.stderr.contains("plugin \(workspace.directory.path("libfake.so")): not a loadable shared object: "),
            "\(outcome.stderr)")
    }

    /// Every linear weight of the GGUF at `path`.
    static func linearWeights(_ path: String) throws -> [String: [Float]] {
        let model = try ModelLoader.load(path: path)
        var weights: [String: [Float]] = [:]
        for tensor in model.tensors where tensor.shape.count == 2 && tensor.name.hasPrefix("blk.") {
            weights[tensor.name] = tensor.storage.array
        }
        return weights
    }
}
