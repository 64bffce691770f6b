import Foundation
import Inference
import LuaRuntime
import ModelIO
import Recipes
import TestSupport
import Testing

/// The `shears` Lua module in process: recipes run against the tiny generated model through
/// `RecipeRunner`, with their output captured.
@Suite("recipe bindings in process")
struct RecipeBindingTests {
    /// A temporary directory with the tiny model and a sample text.
    final class Workspace {
        let directory: TemporaryDirectory
        let model: String
        let text: String
        private(set) var printed: [String] = []

        init() throws {
            directory = try TemporaryDirectory()
            model = directory.path("tiny.gguf")
            try ModelWriter.write(try TinyModel.make(), to: model, type: .f32)
            text = directory.path("sample.txt")
            try String(repeating: "the cat sat on the mat and then the dog ran in the rain. ", count: 40)
                .write(toFile: text, atomically: true, encoding: .utf8)
        }

        /// Writes `source` as `recipe.lua` and runs it with `model=` and `text=` arguments.
        func run(_ source: String, _ arguments: [String] = []) throws {
            let path = directory.path("recipe.lua")
            try source.write(toFile: path, atomically: true, encoding: .utf8)
            let runner = RecipeRunner(output: { [self] channel, line in if channel == .print { printed.append(line) } })
            try runner.run(file: path, arguments: ["model=\(model)", "text=\(text)"] + arguments)
        }

        /// The message of the runtime error `source` raises, from the line number on (Lua elides
        /// the start of long recipe paths).
        func error(_ source: String) throws -> String {
            do {
                try run(source)
            } catch let error as RecipeRuntimeError {
                guard let file = error.message.range(of: "recipe.lua:") else { return error.message }
                return String(error.message[file.upperBound...])
            }
            Issue.record("the recipe ran without an error")
            return ""
        }
    }

    @Test("shears.prune with wanda 50% leaves exactly half of every row of every linear matrix zero")
    func wandaHalfPerRow() throws {
        let workspace = try Workspace()
        let out = workspace.directory.path("wanda.gguf")
        try workspace.run(
            """
            local m = shears.load(shears.args.model)
            local c = shears.calibration{ text = shears.args.text, samples = 4, seqlen = 32 }
            local report = shears.prune(m, c, { shears.wanda{ sparsity = 0.5 } })
            print(string.format("%d %d", #report.layers, report.calibration_windows))
            m:save(shears.args.out, { type = "f32" })
            """, ["out=\(out)"])
        #expect(workspace.printed == ["2 4"])
        let pruned = try ModelLoader.load(path: out)
        var matrices = 0
        for tensor in pruned.tensors where tensor.name.hasPrefix("blk.") && tensor.shape.count == 2 {
            matrices += 1
            let buffer = tensor.storage.buffer
            for row in 0..<tensor.rows {
                let zeros = (0..<tensor.columns).filter { buffer[row * tensor.columns + $0] == 0 }.count
                #expect(zeros == tensor.columns / 2, "\(tensor.name) row \(row)")
            }
        }
        #expect(matrices == 14)
        #expect(try GGUFFile(path: out).metadata["shears.steps"] == .string("wanda(sparsity=0.5)"))
    }

    @Test("shears.load{ stream = true } prunes, evaluates and saves exactly as the resident model does")
    func streamedLoad() throws {
        let workspace = try Workspace()
        var outputs: [[String: [Float]]] = []
        // OpenBLAS single-threaded for both runs: other tests' forward passes change its thread
        // count, which moves SparseGPT's results in the last bits.
        try BLASThreads.singleThreaded {
            for stream in [false, true] {
                let out = workspace.directory.path("wanda-\(stream).gguf")
                try workspace.run(
                    """
                    local m = shears.load(shears.args.model, { stream = \(stream), scratch_dir = shears.args.scratch })
                    local c = shears.calibration{ text = shears.args.text, samples = 4, seqlen = 32 }
                    shears.prune(m, c, { shears.sparsegpt{ sparsity = 0.5 } })
                    print(tostring(m.streamed), string.format("%.17g", m:perplexity{ text = shears.args.text, seqlen = 64 }))
                    m:save(shears.args.out, { type = "f32" })
                    """, ["out=\(out)", "scratch=\(workspace.directory.path(""))"])
                // The files differ only in the recipe's arguments (the output path) in their metadata.
                let saved = try ModelLoader.load(path: out)
                outputs.append(Dictionary(uniqueKeysWithValues: saved.tensors.map { ($0.name, $0.storage.array) }))
            }
        }
        #expect(workspace.printed.count == 2 && workspace.printed[0].hasPrefix("false"))
        #expect(workspace.printed[1].hasPrefix("true"))
        #expect(workspace.printed[0].dropFirst(5) == workspace.printed[1].dropFirst(4), "\(workspace.printed)")
        #expect(outputs[0] == outputs[1])
        #expect(
            try workspace.error("shears.load(shears.args.model, { streem = true })").contains("unknown field 'streem'"))
    }

    @Test(
        "bad arguments raise the exact message at the recipe's line",
        arguments: [
            ("shears.wanda{ sparsity = 2 }", "1: bad argument #1 to 'wanda' (sparsity 2.0 is outside [0, 1))"),
            (
                "shears.ria{ scope = 'column' }",
                "1: bad argument #1 to 'ria' (field 'scope' must be 'matrix' or 'row', got 'column')"
            ),
            (
                "shears.magnitude{ sparsity = 0.5, pattern = '4:2' }",
                "1: bad argument #1 to 'magnitude' (field 'pattern': N:M pattern 4:2 needs 0 < N < M ≤ 64)"
            ),
            ("shears.dsnot{ cycles = 3 }", "1: bad argument #1 to 'dsnot' (unknown field 'cycles')"),
        ])
    func badArguments(source: String, message: String) throws {
        #expect(try Workspace().error(source) == message)
    }

    @Test("calibration defaults: 128 windows of 512 tokens, seed 0 (the CLI's defaults too)")
    func calibrationDefaults() throws {
        let workspace = try Workspace()
        try workspace.run(
            """
            local m = shears.load(shears.args.model)
            local c = shears.calibration{ model = m, text = shears.args.text }
            local seeded = shears.calibration{ text = shears.args.text, samples = 128, seqlen = 512, seed = 0 }
            print(#c, c.seqlen, table.concat(c:window(7), ",") == table.concat(seeded:window(7), ","))
            """)
        #expect(workspace.printed == ["128\t512\ttrue"])
        #expect(CalibrationRequest.defaultSamples == 128 && CalibrationRequest.defaultSeqlen == 512)
    }
}
