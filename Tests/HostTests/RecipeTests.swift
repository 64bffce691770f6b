import Foundation
import ModelIO
import TestSupport
import Testing

/// `shears run`: the example recipes and the `shears` API end to end on a tiny model.
@Suite("shears run")
struct RecipeTests {
    /// A directory with the tiny model, a sample text and room for recipes.
    final class Workspace {
        let directory: TemporaryDirectory
        let model: String
        let text: String

        init() throws {
            directory = try TemporaryDirectory()
            model = try CLITests.tinyModel(in: directory)
            text = try CLITests.sampleText(in: directory)
        }

        /// Writes `source` as `name` and runs it with `arguments`.
        func run(_ source: String, name: String = "recipe.lua", _ arguments: [String] = []) throws -> ProcessOutcome {
            let path = directory.path(name)
            try source.write(toFile: path, atomically: true, encoding: .utf8)
            return try CommandRunner.run(["run", path, "model=\(model)", "text=\(text)"] + arguments)
        }
    }

    static func script(_ name: String) -> String {
        ReferenceData.packageRoot.appendingPathComponent("Scripts/\(name)").path
    }

    @Test("the example recipes run end to end")
    func examples() throws {
        let workspace = try Workspace()
        let common = ["model=\(workspace.model)", "text=\(workspace.text)"]
        let evaluate = try CommandRunner.run(["run", Self.script("evaluate.lua")] + common + ["seqlen=64"])
        #expect(evaluate.status == 0, "\(evaluate.stderr)")
        #expect(evaluate.stdout.contains("perplexity: "))
        let generate = try CommandRunner.run(
            ["run", Self.script("generate.lua")] + common + ["prompt=the cat", "max_tokens=5"])
        #expect(generate.status == 0, "\(generate.stderr)")
        #expect(generate.stdout.hasPrefix("the cat"))
        let calibrate = try CommandRunner.run(
            ["run", Self.script("self-calibrate.lua")] + common + ["samples=2", "seqlen=16"])
        #expect(calibrate.status == 0, "\(calibrate.stderr)")
        #expect(calibrate.stdout.contains("perplexity on held-out self-generated text"))
    }

    @Test("model fields, tensors, sparsity, tokenize round trip")
    func modelAPI() throws {
        let outcome = try Workspace().run(
            """
            local m = shears.load(shears.args.model)
            assert(m.arch == "llama" and m.layers == 2 and m.hidden == 32 and m.heads == 4 and m.kv_heads == 2)
            assert(m.ffn == 48 and m.vocab == 300 and m.head_dim == 8 and m.tied == false)
            local names = m:tensors()
            assert(#names == 2 + 2 * 9 + 1, #names)
            local t = m:tensor("blk.1.ffn_down.weight")
            assert(t.shape[1] == 32 and t.shape[2] == 48 and t.rows == 32 and t.columns == 48 and t.numel == 1536)
            assert(t:sparsity() == 0 and t:norm() > 0)
            local overall, per = m:sparsity()
            assert(overall == 0 and per["blk.0.attn_q.weight"] == 0)
            local ids = shears.tokenize(m, "the rain")
            assert(shears.detokenize(m, ids) == "the rain")
            print("ok")
            """)
        #expect(outcome.status == 0, "\(outcome.stderr)")
        #expect(outcome.stdout == "ok\n")
    }

    @Test("calibration from a text, explicit offsets and an offsets file")
    func calibration() throws {
        let workspace = try Workspace()
        try "3\n10\n\n7\n".write(toFile: workspace.directory.path("offsets.txt"), atomically: true, encoding: .utf8)
        let outcome = try workspace.run(
            """
            local m = shears.load(shears.args.model)
            local c = shears.calibration{ text = shears.args.text, samples = 5, seqlen = 16, seed = 0 }
            assert(#c == 5 and c.seqlen == 16 and c.samples == 5 and #c:window(5) == 16)
            local again = shears.calibration{ model = m, text = shears.args.text, samples = 5, seqlen = 16, seed = 0 }
            for i = 1, 5 do assert(table.concat(c:window(i), ",") == table.concat(again:window(i), ",")) end
            local listed = shears.calibration{ text = shears.args.text, seqlen = 4, offsets = { 3, 10, 7 } }
            local filed = shears.calibration{ text = shears.args.text, seqlen = 4, offsets = shears.args.offsets }
            assert(#listed == 3 and #filed == 3)
            for i = 1, 3 do assert(table.concat(listed:window(i), ",") == table.concat(filed:window(i), ",")) end
            print("ok")
            """, ["offsets=\(workspace.directory.path("offsets.txt"))"])
        #expect(outcome.status == 0, "\(outcome.stderr)")
    }

    @Test("save writes a model that evaluates the same, with provenance")
    func save() throws {
        let workspace = try Workspace()
        let out = workspace.directory.path("saved.gguf")
        let outcome = try workspace.run(
            """
            local m = shears.load(shears.args.model)
            local before = m:perplexity{ text = shears.args.text, seqlen = 64 }
            m:save(shears.args.out, { type = "f32" })
            local after = shears.load(shears.args.out):perplexity{ text = shears.args.text, seqlen = 64 }
            assert(before == after, before .. " ~= " .. after)
            print("ok")
            """, name: "saver.lua", ["out=\(out)"])
        #expect(outcome.status == 0, "\(outcome.stderr)")
        let saved = try GGUFFile(path: out)
        #expect(saved.metadata["shears.recipe"] == .string("saver.lua"))
        #expect(saved.metadata["shears.recipe_sha256"]?.string?.count == 64)
    }

    @Test(
        "errors: syntax (exit 2), runtime with traceback (exit 1), API misuse in Lua's words",
        arguments: [
            ("local x = = 1", 2, "recipe.lua:1:"),
            ("local m = shears.load(shears.args.model)\nlocal y = nil\nprint(y.field)", 1, "recipe.lua:3:"),
            ("shears.load()", 1, "bad argument #1 to 'load' (string expected, got no value)"),
            ("shears.load(nil)", 1, "bad argument #1 to 'load' (string expected, got nil)"),
            (
                "local m = shears.load(shears.args.model)\nm:perplexity{ text = shears.args.text, seqln = 64 }", 1,
                "unknown field 'seqln'"
            ),
            ("local m = shears.load(shears.args.model)\nm:close()\nprint(m.layers)", 1, "closed shears.Model"),
            (
                "local m = shears.load(shears.args.model)\nlocal t = m:tensor('token_embd.weight')\nm:close()\nprint(t:norm())",
                1, "expired"
            ),
            ("local m = shears.load(shears.args.model)\nm:tensor('nope')", 1, "no tensor 'nope'"),
            (
                "local m = shears.load(shears.args.model)\nlocal c = shears.calibration{ text = shears.args.text, seqlen = 4, offsets = { 100000 } }",
                1, "offset #1 = 100000"
            ),
            (
                "local m = shears.load(shears.args.model)\nm:save(shears.args.model, { type = 'f16' })", 1,
                "overwrite the input"
            ),
            ("shears.load('/nonexistent/model.gguf')", 1, "/nonexistent/model.gguf: no such file"),
        ])
    func errors(source: String, status: Int32, message: String) throws {
        let outcome = try Workspace().run(source)
        #expect(outcome.status == status, "\(outcome.stderr)")
        #expect(outcome.stderr.contains(message), "\(outcome.stderr)")
    }

    @Test("a runtime error prints a traceback with file:line frames")
    func traceback() throws {
        let outcome = try Workspace().run(
            """
            local function inner() error("boom") end
            local function outer() inner() end
            outer()
            """)
        #expect(outcome.status == 1)
        #expect(outcome.stderr.contains("recipe.lua:1: boom"))
        #expect(outcome.stderr.contains("recipe.lua:2:") && outcome.stderr.contains("recipe.lua:3:"))
    }

    @Test("run rejects bad arguments and limits with exit 2")
    func badRunArguments() throws {
        let workspace = try Workspace()
        let path = workspace.directory.path("ok.lua")
        try "print(1)".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(try CommandRunner.run(["run", path, "notapair"]).status == 2)
        #expect(try CommandRunner.run(["run", path, "--max-memory", "lots"]).status == 2)
        #expect(try CommandRunner.run(["run", workspace.directory.path("missing.lua")]).status == 2)
        let limited = try CommandRunner.run(["run", path, "--timeout", "5"])
        #expect(limited.status == 0 && limited.stdout == "1\n")
    }
}
