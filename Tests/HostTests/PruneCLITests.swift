import Foundation
import ModelIO
import Testing
import TestSupport

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
        let outcome = try CommandRunner.run(["prune", model, "--method", "magnitude", "--sparsity", "0.5", "--out", out, "--type", "f32"])
        #expect(outcome.status == 0, "\(outcome.stderr)")
        let sparsity = try Self.linearSparsity(out)
        #expect(sparsity.count == 14)
        // The reference prunes every weight ≤ the k-th smallest: at least k, usually k + 1.
        for (name, value) in sparsity { #expect(value >= 0.5 && value < 0.52, "\(name): \(value)") }
        let file = try GGUFFile(path: out)
        #expect(file.metadata["shears.steps"] == .string("magnitude(sparsity=0.5)"))
        #expect(file.metadata["shears.sparsity"]?.string?.hasPrefix("0.50") == true)
    }

    @Test("wanda 2:4 with calibration text keeps at most 2 of every 4 weights in each row")
    func wandaTwoFour() throws {
        let directory = try TemporaryDirectory()
        let model = try CLITests.tinyModel(in: directory)
        let text = try CLITests.sampleText(in: directory)
        let out = directory.path("wanda24.gguf")
        let outcome = try CommandRunner.run(["prune", model, "--method", "wanda", "--pattern", "2:4", "--calib", text,
                                             "--samples", "4", "--seqlen", "32", "--out", out, "--type", "f32"])
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
        let outcome = try CommandRunner.run(["prune", model, "--method", "ria", "--sparsity", "0.6", "--owl", "--owl-lambda", "0.1",
                                             "--dsnot", "--calib", text, "--samples", "4", "--seqlen", "32",
                                             "--out", out, "--type", "f32"])
        #expect(outcome.status == 0, "\(outcome.stderr)")
        let sparsity = try Self.linearSparsity(out)
        let layers = (0..<2).map { layer in
            sparsity.filter { $0.key.hasPrefix("blk.\(layer).") }.values.reduce(0, +) / 7
        }
        // Two layers: OWL gives one p − λ and the other p + λ (per-matrix ≤ τ may prune a few more).
        #expect(abs(layers[0] - layers[1]) > 0.15, "\(layers)")
        #expect(abs((layers[0] + layers[1]) / 2 - 0.6) < 0.01, "\(layers)")
        let file = try GGUFFile(path: out)
        #expect(file.metadata["shears.steps"] == .string("owl(m=5.0, lambda=0.1) + ria(sparsity=0.6) + dsnot()"))
    }

    @Test("bad prune requests exit 2 and write nothing",
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
        let outcome = try CommandRunner.run(["prune", model, "--method", "magnitude", "--sparsity", "0.5",
                                             "--out", "/nonexistent-dir/x.gguf"])
        #expect(outcome.status == 2)
        #expect(outcome.stderr.contains("/nonexistent-dir") && outcome.stderr.contains("not writable"))
    }

    @Test("recipes chain wanda and reconstruct, honour targets/ignore and call on_layer")
    func recipeChain() throws {
        let workspace = try RecipeTests.Workspace()
        let out = workspace.directory.path("chained.gguf")
        let outcome = try workspace.run("""
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

    @Test("recipe prune errors read clearly",
          arguments: [
            ("shears.prune(m, nil, {})", "no steps given"),
            ("shears.prune(m, nil, { 42 })", "element #1 must be a handle"),
            ("shears.prune(m, nil, { shears.wanda{ sparsity = 0.5 } })", "calibration"),
            ("shears.wanda{ sparsity = 2 }", "sparsity"),
            ("shears.magnitude{ sparsity = 0.5, pattern = 'x' }", "field 'pattern'"),
            ("shears.prune(m, nil, { shears.magnitude{ sparsity = 0.5 }, targets = { 'nothing' } })", "match no linear matrix"),
            ("shears.prune(m, nil, { shears.magnitude{ sparsity = 0.5 }, on_layer = function() error('stop here') end })", "stop here"),
          ])
    func recipeErrors(source: String, message: String) throws {
        let outcome = try RecipeTests.Workspace().run("local m = shears.load(shears.args.model)\n" + source)
        #expect(outcome.status == 1, "\(outcome.stderr)")
        #expect(outcome.stderr.contains(message), "\(outcome.stderr)")
    }
}
