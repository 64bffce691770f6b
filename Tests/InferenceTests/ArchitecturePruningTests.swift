import Foundation
import Inference
import ModelIO
import TestSupport
import Testing

/// Wanda, SparseGPT, FLAP and FFN channels by Wanda-sp run through `shears prune` on the tiny
/// transformers model of each
/// architecture (`Scripts/tiny_arch_models.py`): the pruned GGUF loads back in Shears with the
/// pruned structure, and, when the llama.cpp tools are built, llama-perplexity's log-probabilities
/// on it equal Shears' (`shears eval --base` on llama.cpp's base file) and libllama's greedy
/// continuation (`llama-greedy`) equals Shears'. Runs only when the reference environment exists.
@Suite(.serialized) struct ArchitecturePruningTests {
    /// Tokens per window of the llama.cpp comparison, and windows: no longer than Mistral's window
    /// of 8 (llama.cpp runs full attention), longer elsewhere.
    static func context(_ arch: String) -> Int { arch == "mistral" ? 8 : 48 }

    /// The methods: name and the `shears prune` arguments.
    static let methods: [(String, [String])] = [
        ("wanda", ["--method", "wanda", "--sparsity", "0.5"]),
        ("sparsegpt", ["--method", "sparsegpt", "--sparsity", "0.5"]),
        ("flap", ["--method", "flap", "--params", "0.2"]),
        // The same number of FFN channels from every layer: a uniform model, which llama.cpp's
        // qwen3 graph runs too.
        ("channels", ["--method", "channels", "--param", "ratio=0.25"]),
    ]

    @Test(
        "Wanda, SparseGPT, FLAP and uniform FFN channels prune each tiny architecture; the result loads back, and in llama.cpp gives Shears' log-probabilities",
        .enabled(if: ArchitectureCrossCheckTests.available), arguments: ["llama3", "qwen2", "qwen3", "mistral", "yarn"])
    func prunes(arch: String) throws {
        let directory = try TemporaryDirectory()
        let (path, _) = try ArchitectureCrossCheckTests.fixture(arch, in: directory)
        let dense = try HuggingFaceModelReader.load(directory: path)
        let calibration = ReferenceData.file("wikitext2-valid.txt").path
        for (name, arguments) in Self.methods {
            let out = directory.path("\(arch)-\(name).gguf")
            let prune = try CommandRunner.run(
                ["prune", path] + arguments + [
                    "--calib", calibration, "--samples", "8", "--seqlen", "32", "--out", out, "--type", "f32",
                ])
            try #require(prune.status == 0, "\(arch) \(name): \(prune.stderr)")
            let pruned = try ModelLoader.load(path: out)
            #expect(pruned.config.attentionBiases == dense.config.attentionBiases, "\(arch) \(name)")
            #expect(pruned.config.queryKeyNorm == dense.config.queryKeyNorm, "\(arch) \(name)")
            if name == "flap" || name == "channels" {
                #expect(pruned.parameterCount < dense.parameterCount, "\(arch) \(name) removed nothing")
            } else {
                let q = pruned.tensor("blk.0.attn_q.weight")!.storage.array
                let zeros = q.count { $0 == 0 }
                // Wanda prunes exactly half of each row; SparseGPT, like its reference, prunes the
                // saliencies ≤ sorted[k] of a block, one more than k (513 of 1024 here).
                #expect(
                    name == "wanda" ? zeros == q.count / 2 : zeros == q.count / 2 + 1,
                    "\(arch) \(name): \(zeros) of \(q.count) attn_q entries are zero")
                // Unstructured methods leave biases and head norms alone.
                for tensor in dense.tensors
                where LlamaTensorNames.parse(tensor.name).map({ $0.kind != .weight }) ?? false {
                    #expect(
                        pruned.tensor(tensor.name)?.storage.array == tensor.storage.array,
                        "\(arch) \(name) \(tensor.name)")
                }
            }
            let logits = try ForwardPass(model: pruned, capacity: 16).logits(
                appending: Array(0..<16).map { Int32($0 * 7) })
            #expect(logits.allSatisfy { $0.isFinite }, "\(arch) \(name): non-finite logits")

            // llama.cpp's qwen3 sizes every layer's matrices from the model-wide head counts and FFN
            // width (no deci-like form with q/k norms), so a Qwen3 pruned to different layer shapes
            // runs in Shears only; one pruned to a uniform shape runs in both.
            if name == "channels" {
                #expect(pruned.config.uniformShape != nil, "\(arch) channels: layers differ")
            }
            guard let tools = LlamaCppCrossCheckTests.tools, !(arch == "qwen3" && pruned.config.uniformShape == nil)
            else { continue }
            try Self.expectLlamaCppAgrees(out, arch: arch, label: name, tools: tools, directory: directory)
        }
    }

    /// Checks that llama-perplexity's log-probabilities on the GGUF `path` of the tiny `arch`
    /// model equal Shears' (`shears eval --base` on llama.cpp's base file, WikiText-2 test).
    static func expectLlamaCppAgrees(
        _ path: String, arch: String, label: String, tools: String, directory: TemporaryDirectory
    ) throws {
        let base = directory.path("\(arch)-\(label).kld")
        let text = ReferenceData.file("wikitext2-test.txt").path
        let llama = try ChildProcess.run(
            URL(fileURLWithPath: "/bin/bash"),
            [
                ReferenceData.packageRoot.appendingPathComponent("Scripts/llamacpp-kld.sh").path, "base", path, text,
                "\(context(arch))", "4", base,
            ],
            environment: ["LLAMACPP_BIN": tools])
        try #require(llama.status == 0, "\(arch) \(label) in llama.cpp: \(llama.stderr)")
        let ours = try LlamaCppDivergenceTests.shears([path, "--base", base])
        print("\(arch) \(label): KLD, same top, PPL, PPL(llama.cpp) = \(ours)")
        // Same logits up to float rounding: a near tie may flip a top token now and then.
        #expect(ours[0] < 1e-5 && ours[1] >= 0.95, "\(arch) \(label): Shears vs llama.cpp \(ours)")
        try expectLlamaCppContinues(path, label: "\(arch) \(label)", length: context(arch), tools: tools)
    }

    /// Checks that llama.cpp (`llama-greedy`) continues a prompt greedily with the text Shears' `Generator`
    /// gives on the GGUF `path` (both stop at the end-of-sequence token), prompt and continuation
    /// within `length` tokens (Mistral's window: llama.cpp runs full attention).
    static func expectLlamaCppContinues(_ path: String, label: String, length: Int, tools: String) throws {
        let model = try ModelLoader.load(path: path)
        let prompt = length < 16 ? "The fox" : "The quick brown fox jumps over"
        let ids = model.tokenizer.encode(prompt)
        let tokens = min(12, length - ids.count)
        try #require(tokens > 0, "\(label): the prompt's \(ids.count) tokens leave none to generate")
        let continuation = try Generator(model: model).generate(prompt: ids, maxTokens: tokens)
        let expected = prompt + model.tokenizer.decode(continuation)
        // llama-greedy (our own few lines on libllama, built by install-llamacpp.sh) decodes with an
        // F32 KV cache and no flash attention: llama.cpp's defaults (an F16 cache, flash attention
        // in F16) move logits by ~1e-3, enough to flip a near tie (a pruned YaRN model here has a
        // step whose two best logits are 0.0015 apart). One thread: the same sums in the same order
        // on every run. It prints every piece's exact bytes on the main thread (llama-completion's
        // log thread can lose its output at exit), and nothing for an end-of-generation token.
        let llama = try ChildProcess.run(
            URL(fileURLWithPath: tools + "/llama-greedy"), [path, "\(tokens)", prompt])
        try #require(llama.status == 0, "\(label): llama-greedy failed: \(llama.stderr.suffix(2000))")
        #expect(
            llama.stdout == expected,
            "\(label): llama.cpp continues \(llama.stdout.debugDescription), Shears \(expected.debugDescription)")
    }
}
