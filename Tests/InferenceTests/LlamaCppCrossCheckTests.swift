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

        let context = 512, chunks = 4
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

        // llama-perplexity's protocol: chunks of `context` ids, only the second half scored.
        let reread = try ModelLoader.load(path: path)
        let ids = try ReferenceData.int32s("wikitext2-test.smollm2-ids.i32")
        let forward = try ForwardPass(model: reread, capacity: context)
        var total = 0.0, count = 0
        for chunk in 0..<chunks {
            let nll = try forward.negativeLogLikelihoods(Array(ids[chunk * context..<(chunk + 1) * context]))
            for value in nll[(context / 2)...] {
                total += Double(value)
                count += 1
            }
        }
        let ours = exp(total / Double(count))
        #expect(abs(ours / theirs - 1) <= 0.01, "Shears \(ours), llama.cpp \(theirs)")
        print("heterogeneous SmolLM2: Shears \(ours), llama.cpp \(theirs) (\(chunks) chunks of \(context))")
    }
}
