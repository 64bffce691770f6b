import Foundation
import Inference
import ModelIO
import TestSupport
import Testing

/// Stock llama.cpp runs a heterogeneous model that Shears wrote (`deci`), with Shears' own
/// perplexity on the same ids and protocol. Runs when the llama.cpp tools are built
/// (`Scripts/install-llamacpp.sh`; this test never builds them).
@Suite(.serialized) struct LlamaCppCrossCheckTests {
    static let script = ReferenceData.packageRoot.appendingPathComponent("Scripts/install-llamacpp.sh")

    /// The bin directory of an existing llama.cpp build, or nil.
    static let tools: String? = {
        guard let outcome = try? ChildProcess.run(URL(fileURLWithPath: "/bin/bash"), [script.path, "--cached"]),
            outcome.status == 0
        else { return nil }
        return outcome.stdout.split(separator: "\n").last.map(String.init)
    }()

    static var enabled: Bool { ReferenceData.hasModel && ReferenceData.hasData && tools != nil }

    /// llama-perplexity's figure for the model file at `path` next to Shears' own for the same
    /// file, on the same ids and protocol (chunks of `context` ids, the second half of each scored).
    static func perplexities(
        _ path: String, context: Int = 512, chunks: Int = 4
    ) throws -> (ours: Double, theirs: Double) {
        let text = ReferenceData.file("wikitext2-test.txt").path
        let llama = try ChildProcess.run(
            URL(fileURLWithPath: "/bin/bash"),
            [
                ReferenceData.packageRoot.appendingPathComponent("Scripts/llamacpp-perplexity.sh").path, path, text,
                "\(context)", "\(chunks)",
            ],
            environment: ["LLAMACPP_BIN": Self.tools!])
        try #require(llama.status == 0, "\(llama.stderr)")
        let theirs = try #require(Double(llama.stdout.split(separator: "\n").last ?? ""))
        return (try Self.shearsPerplexity(try ModelLoader.load(path: path), context: context, chunks: chunks), theirs)
    }

    /// Shears' perplexity of `model` under llama-perplexity's protocol.
    static func shearsPerplexity(_ model: Model, context: Int = 512, chunks: Int = 4) throws -> Double {
        let ids = try ReferenceData.int32s("wikitext2-test.smollm2-ids.i32")
        let forward = try ForwardPass(model: model, capacity: context)
        var total = 0.0, count = 0
        for chunk in 0..<chunks {
            let nll = try forward.negativeLogLikelihoods(Array(ids[chunk * context..<(chunk + 1) * context]))
            for value in nll[(context / 2)...] {
                total += Double(value)
                count += 1
            }
        }
        return exp(total / Double(count))
    }

    @Test(
        "a heterogeneous SmolLM2 written as deci runs in llama-perplexity within 1% of Shears",
        .enabled(if: enabled))
    func heterogeneousPerplexity() throws {
        let model = try ModelLoader.load(path: ReferenceData.modelPath)
        // Every kind of layer, including the two llama.cpp cannot run as such: layer 0 without
        // attention and a layer (the last) without an FFN; both are written with zero stand-ins.
        try model.remove(.attention(layer: 0))
        try model.remove(.queryHeads(layer: 3, [0, 4, 8]))
        try model.remove(.kvGroups(layer: 10, [1]))
        try model.remove(.ffnChannels(layer: 5, Array(stride(from: 1, to: 1536, by: 3))))
        try model.remove(.attention(layer: 7))
        try model.remove(.ffn(layer: 29))
        try model.remove(.blocks([20]))
        let directory = try TemporaryDirectory()
        let path = directory.path("hetero.gguf")
        try ModelWriter.write(model, to: path, type: .f32)
        #expect(try GGUFFile(path: path).metadata["general.architecture"]?.string == "deci")

        let (ours, theirs) = try Self.perplexities(path)
        #expect(abs(ours / theirs - 1) <= 0.01, "Shears \(ours), llama.cpp \(theirs)")
        print("heterogeneous SmolLM2: Shears \(ours), llama.cpp \(theirs) (4 chunks of 512)")
    }

    @Test(
        "attn_output and ffn_down biases apply in llama-perplexity as in Shears, for llama and deci",
        .enabled(if: enabled), arguments: [false, true])
    func biases(heterogeneous: Bool) throws {
        let model = try ModelLoader.load(path: ReferenceData.modelPath)
        if heterogeneous {
            try model.remove(.queryHeads(layer: 3, [0, 4, 8]))
            try model.remove(.attention(layer: 7))
        }
        let plain = try Self.shearsPerplexity(model)
        var rng = SplitMix64(seed: 17)
        for layer in 0..<model.config.layerCount {
            for part in [LlamaTensorNames.Layer.attentionOutput, .down]
            where part.exists(in: model.config.layers[layer]) {
                try model.setBias(
                    (0..<model.config.hiddenSize).map { _ in 0.1 * (rng.nextUnitFloat() * 2 - 1) }, of: part,
                    layer: layer)
            }
        }
        let directory = try TemporaryDirectory()
        let path = directory.path("biased.gguf")
        try ModelWriter.write(model, to: path, type: .f32)
        #expect(
            try GGUFFile(path: path).metadata["general.architecture"]?.string == (heterogeneous ? "deci" : "llama"))
        let (ours, theirs) = try Self.perplexities(path)
        // The biases must matter, or agreement would not show that llama.cpp applies them.
        #expect(abs(ours / plain - 1) > 0.03, "biases changed Shears' perplexity only from \(plain) to \(ours)")
        #expect(abs(ours / theirs - 1) <= 0.01, "Shears \(ours), llama.cpp \(theirs)")
        print(
            "SmolLM2 with biases (\(heterogeneous ? "deci" : "llama")): Shears \(ours) (\(plain) without), llama.cpp \(theirs)"
        )
    }

    @Test(
        "structured prunes written by shears prune (LLM-Pruner: deci; FLAP with bias compensation; Minitron: narrower hidden width; Shortened LLaMA: 24 blocks; Michel: 6 heads) run in llama-perplexity within 1% of Shears",
        .enabled(if: enabled),
        arguments: [
            ["--method", "llm-pruner", "--param", "ratio=0.25", "--samples", "10", "--seqlen", "64", "--seed", "42"],
            [
                "--method", "flap", "--param", "ratio=0.2", "--param", "structure=UL-UM", "--samples", "32", "--seqlen",
                "128",
            ],
            [
                "--method", "minitron", "--param", "ratio=0.2", "--param", "round_to=64", "--samples", "16", "--seqlen",
                "128",
            ],
            ["--method", "shortened", "--param", "remove=6", "--samples", "10", "--seqlen", "128", "--seed", "1234"],
            ["--method", "michel", "--param", "ratio=0.34", "--samples", "4", "--seqlen", "64"],
        ])
    func structured(arguments: [String]) throws {
        let directory = try TemporaryDirectory()
        let path = directory.path("structured.gguf")
        let outcome = try CommandRunner.run(
            [
                "prune", ReferenceData.modelPath, "--calib-ids",
                ReferenceData.file("wikitext2-valid.smollm2-ids.i32").path,
            ]
                + arguments + ["--out", path, "--type", "f32"])
        try #require(outcome.status == 0, "\(outcome.stderr)")
        let file = try GGUFFile(path: path)
        let flap = arguments.contains("flap")
        #expect(file.metadata["general.architecture"]?.string == (arguments.contains("llm-pruner") ? "deci" : "llama"))
        if arguments.contains("minitron") {
            // 576 − int(0.2·576) = 461 rounds to 448; the head size stays 64 (key_length).
            #expect(file.metadata["llama.embedding_length"]?.int == 448)
            #expect(file.metadata["llama.attention.key_length"]?.int == 64)
        }
        if arguments.contains("shortened") {
            #expect(file.metadata["llama.block_count"]?.int == 24)
        }
        if arguments.contains("michel") {
            // One of the three query heads of every KV group: 6 heads over 3 KV heads in every layer.
            #expect(file.metadata["llama.attention.head_count"]?.int == 6)
            #expect(file.metadata["llama.attention.head_count_kv"]?.int == 3)
        }
        #expect(file.tensors.contains { $0.name == "blk.0.ffn_down.bias" } == flap)
        let (ours, theirs) = try Self.perplexities(path)
        #expect(abs(ours / theirs - 1) <= 0.01, "Shears \(ours), llama.cpp \(theirs)")
        print("\(arguments[1]) SmolLM2: Shears \(ours), llama.cpp \(theirs) (4 chunks of 512)")
    }
}
