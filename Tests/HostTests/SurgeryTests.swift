import Foundation
import ModelIO
import TestSupport
import Testing

/// Structural surgery from the command line (`shears convert --drop-layers`) and from recipes
/// (`m:remove{...}`, per-layer `m.heads`/`m.kv_heads`/`m.ffn`, `m:layer(i)`).
@Suite struct SurgeryTests {
    @Test("convert --drop-layers removes and renumbers layers, with metadata to match")
    func dropLayers() throws {
        let directory = try TemporaryDirectory()
        let model = try CLITests.tinyModel(in: directory)
        let out = directory.path("dropped.gguf")
        let outcome = try CommandRunner.run(["convert", model, "--drop-layers", "0", "--out", out, "--type", "f32"])
        #expect(outcome.status == 0, "\(outcome.stderr)")
        let original = try ModelLoader.load(path: model)
        let dropped = try ModelLoader.load(path: out)
        #expect(dropped.config.layerCount == 1)
        #expect(dropped.metadata["llama.block_count"]?.int == 1)
        #expect(dropped.metadata["shears.dropped_layers"]?.string == "0")
        #expect(
            dropped.tensor("blk.0.ffn_up.weight")?.storage.array
                == original.tensor("blk.1.ffn_up.weight")?.storage.array)
        let inspect = try CommandRunner.run(["inspect", out])
        #expect(inspect.stdout.contains("llama: 1 layers"), "\(inspect.stdout)")
    }

    @Test(
        "convert --drop-layers refuses bad lists without writing anything",
        arguments: [
            ("1,x", "'x' is not a layer index"), ("3", "out of range 0...1"), ("0-1", "leaves no model"),
            ("1-0", "'1-0' is not a layer index or a range"),
        ])
    func dropLayersRefusals(_ list: String, _ message: String) throws {
        let directory = try TemporaryDirectory()
        let model = try CLITests.tinyModel(in: directory)
        let out = directory.path("dropped.gguf")
        let outcome = try CommandRunner.run(["convert", model, "--drop-layers", list, "--out", out])
        #expect(outcome.status == 2)
        #expect(outcome.stderr.contains(message), "\(outcome.stderr)")
        #expect(!FileManager.default.fileExists(atPath: out))
    }

    @Test("m:remove shrinks the model in place; per-layer fields follow; the saved deci file loads and evaluates")
    func recipeSurgery() throws {
        let workspace = try RecipeTests.Workspace()
        let out = workspace.directory.path("hetero.gguf")
        let outcome = try workspace.run(
            """
            local m = shears.load(shears.args.model)
            local before = m:perplexity{ text = shears.args.text, seqlen = 64 }
            m:remove{ layer = 0, heads = { 1, 3 } }
            m:remove{ layer = 1, channels = { 0, 1, 2, 3, 4, 5, 6, 7 } }
            assert(m.arch == "deci", m.arch)
            assert(m.heads[1] == 2 and m.heads[2] == 4, "heads")
            assert(m.kv_heads == 2, "kv_heads")
            assert(m.ffn[1] == 48 and m.ffn[2] == 40, "ffn")
            local shape = m:layer(1)
            assert(shape.heads == 4 and shape.kv_heads == 2 and shape.ffn == 40 and shape.attention and shape.mlp)
            local t = m:tensor("blk.0.attn_q.weight")
            assert(t.rows == 16 and t.columns == 32)
            local ok, err = pcall(function() m:remove{ layer = 1, heads = { 0, 1 } } end)
            assert(not ok and err:find("every KV group must keep the same number of query heads"), err)
            ok, err = pcall(function() m:remove{ layer = 1, heads = { 0 }, channels = { 1 } } end)
            assert(not ok and err:find("remove one kind of unit per call"), err)
            ok, err = pcall(function() m:remove{ layer = 1, attention = false } end)
            assert(not ok and err:find("can only be true"), err)
            m:remove{ layer = 1, attention = true }
            assert(not m:layer(1).attention)
            local after = m:perplexity{ text = shears.args.text, seqlen = 64 }
            print(string.format("ppl %.6f %.6f", before, after))
            m:save(shears.args.out, { type = "f32" })
            local again = shears.load(shears.args.out)
            print(string.format("reloaded %.6f", again:perplexity{ text = shears.args.text, seqlen = 64 }))
            m:remove{ blocks = { 0 } }
            assert(m.layers == 1 and m.heads == 0 and m.ffn == 40, "blocks")
            """, ["out=\(out)"])
        #expect(outcome.status == 0, "\(outcome.stderr)")
        let numbers = outcome.stdout.split(whereSeparator: \.isWhitespace).compactMap { Double($0) }
        #expect(numbers.count == 3, "\(outcome.stdout)")
        if numbers.count == 3 {
            #expect(numbers[0] != numbers[1])
            #expect(numbers[2] == numbers[1], "the saved file evaluates as the in-memory model")
        }
        let file = try GGUFFile(path: out)
        #expect(file.metadata["deci.attention.head_count"]?.array?.compactMap(\.int) == [2, 0])
        let inspect = try CommandRunner.run(["inspect", out])
        #expect(inspect.stdout.contains("deci: 2 layers of different shapes"), "\(inspect.stdout)")
        #expect(inspect.stdout.contains("  layer 1     no attention"), "\(inspect.stdout)")
    }

    @Test("inspect names the attn_output and ffn_down biases a model carries")
    func inspectBiases() throws {
        let directory = try TemporaryDirectory()
        let path = directory.path("biased.gguf")
        try ModelWriter.write(try TinyModel.heterogeneous(biases: true), to: path, type: .f32)
        let inspect = try CommandRunner.run(["inspect", path])
        #expect(inspect.status == 0, "\(inspect.stderr)")
        #expect(
            inspect.stdout.contains("biases        attn_output in 4 layers, ffn_down in 4 layers"), "\(inspect.stdout)")
    }

    @Test("inspect shows the descriptor, q/k/v biases and head norms; missing biases and unknown architectures exit 2")
    func inspectQwen() throws {
        let directory = try TemporaryDirectory()
        var qwen2 = TinyModel.config, qwen3 = TinyModel.config
        qwen2.attentionBiases = true
        qwen3.queryKeyNorm = true
        let (path2, path3) = (directory.path("qwen2.gguf"), directory.path("qwen3.gguf"))
        try ModelWriter.write(try TinyModel.make(qwen2), to: path2, type: .f32)
        try ModelWriter.write(try TinyModel.make(qwen3), to: path3, type: .f32)
        let inspect2 = try CommandRunner.run(["inspect", path2])
        #expect(inspect2.status == 0, "\(inspect2.stderr)")
        #expect(inspect2.stdout.contains("qwen2: 2 layers"), "\(inspect2.stdout)")
        #expect(
            inspect2.stdout.contains(
                "descriptor    qwen2: q/k/v biases, optional sliding window, HF row order (GGUF qwen2, Qwen2ForCausalLM)"
            ),
            "\(inspect2.stdout)")
        #expect(
            inspect2.stdout.contains("biases        attn_q in 2 layers, attn_k in 2 layers, attn_v in 2 layers"),
            "\(inspect2.stdout)")
        let inspect3 = try CommandRunner.run(["inspect", path3])
        #expect(inspect3.stdout.contains("qwen3: 2 layers"), "\(inspect3.stdout)")
        let hf = directory.path("qwen3-hf")
        try ModelWriter.write(try TinyModel.make(qwen3), to: hf, type: .f32)
        let inspectHF = try CommandRunner.run(["inspect", hf, "--json"])
        #expect(inspectHF.status == 0, "\(inspectHF.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(inspectHF.stdout.utf8)) as? [String: Any])
        let descriptor = try #require(object["descriptor"] as? [String: Any])
        #expect(descriptor["name"] as? String == "qwen3" && object["architecture"] as? String == "qwen3")
        #expect(descriptor["hugging_face_architecture"] as? String == "Qwen3ForCausalLM")
        #expect(
            descriptor["summary"] as? String
                == "qwen3: per-layer shapes, optional q/k/v biases, q/k head norms, optional sliding window, HF row order"
        )
        #expect(
            inspect3.stdout.contains("head norms    q/k RMSNorm per head (Qwen3) in 2 layers"), "\(inspect3.stdout)")

        // A qwen2 header over a LLaMA's tensors: the missing bias is named, exit 2.
        let llama = try TinyModel.make()
        var renamed: [(String, GGUFValue)] = []
        for (key, value) in GGUFArchitectureKeys.apply(llama.config, to: llama.metadata) {
            renamed.append((key.hasPrefix("llama.") ? "qwen2" + key.dropFirst(5) : key, value))
        }
        var metadata = GGUFMetadata(renamed)
        metadata["general.architecture"] = .string("qwen2")
        let bad = directory.path("qwen2-without-biases.gguf")
        try GGUFWriter.write(
            metadata: metadata, tensors: llama.tensors.map { GGUFWriter.Entry(tensor: $0, type: .f32) }, to: bad)
        let text = directory.path("text.txt")
        try "the the the".write(toFile: text, atomically: true, encoding: .utf8)
        let eval = try CommandRunner.run(["eval", bad, "--text", text, "--seqlen", "2"])
        #expect(eval.status == 2 && eval.stderr.contains("blk.0.attn_q.bias"), "\(eval.stderr)")
        #expect(eval.stderr.contains("the qwen2 descriptor"), "\(eval.stderr)")

        // An architecture no descriptor knows: GGUF and config.json name it and list the descriptors.
        metadata["general.architecture"] = .string("gemma3")
        let gemma = directory.path("gemma3.gguf")
        try GGUFWriter.write(
            metadata: metadata, tensors: llama.tensors.map { GGUFWriter.Entry(tensor: $0, type: .f32) }, to: gemma)
        let unknown = try CommandRunner.run(["inspect", gemma])
        #expect(unknown.status == 2, "\(unknown.stderr)")
        #expect(
            unknown.stderr.contains("'gemma3' is not supported; Shears has descriptors for qwen3 (GGUF qwen3)"),
            "\(unknown.stderr)")
        let configPath = hf + "/config.json"
        let json = try String(contentsOfFile: configPath, encoding: .utf8)
        try json.replacingOccurrences(of: "Qwen3ForCausalLM", with: "Gemma3ForCausalLM")
            .write(toFile: configPath, atomically: true, encoding: .utf8)
        let unknownHF = try CommandRunner.run(["inspect", hf])
        #expect(unknownHF.status == 2, "\(unknownHF.stderr)")
        #expect(
            unknownHF.stderr.contains(
                "[\"Gemma3ForCausalLM\"] is not supported; Shears has descriptors for qwen3 (Qwen3ForCausalLM)"),
            "\(unknownHF.stderr)")
    }
}
