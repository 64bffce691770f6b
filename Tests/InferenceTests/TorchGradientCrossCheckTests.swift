import Foundation
import Inference
import ModelIO
import TestSupport
import Testing

/// SmolLM2's gradients against PyTorch autograd (transformers' LlamaForCausalLM in float32, run
/// by `Scripts/torch_gradients.py` in the reference environment of `Scripts/install-refenv.sh`)
/// on the model Shears dequantized from the GGUF and wrote as safetensors. Runs only when that
/// environment, the model and the shared data exist.
@Suite struct TorchGradientCrossCheckTests {
    /// The reference environment's python.
    static let python: String = {
        let env = ProcessInfo.processInfo.environment
        let cache = env["SHEARS_CACHE"] ?? (NSHomeDirectory() + "/.cache/shears")
        return cache + "/refenv/bin/python"
    }()

    /// Whether the reference environment, the model and the token ids are present.
    static var available: Bool {
        FileManager.default.isExecutableFile(atPath: python) && ReferenceData.hasModel && ReferenceData.hasData
    }

    /// Cosine similarity and relative L2 error `‖a − b‖ / ‖b‖`, in Double.
    static func compare(
        _ a: UnsafeBufferPointer<Float>, _ b: UnsafeBufferPointer<Float>
    ) -> (cosine: Double, error: Double) {
        var dot = 0.0, aa = 0.0, bb = 0.0, difference = 0.0
        for i in 0..<a.count {
            let x = Double(a[i]), y = Double(b[i])
            dot += x * y
            aa += x * x
            bb += y * y
            difference += (x - y) * (x - y)
        }
        return (dot / (aa * bb).squareRoot(), (difference / bb).squareRoot())
    }

    @Test(
        "SmolLM2: per-tensor gradients of the mean NLL over two 512-token windows match PyTorch",
        .enabled(if: available))
    func matchesPyTorch() throws {
        let model = try SmolLM2Loader.shared.get()
        let c = model.config
        let ids = Array(try ReferenceData.int32s("wikitext2-test.smollm2-ids.i32").prefix(1024))
        let windows = [Array(ids[0..<512]), Array(ids[512..<1024])]
        let directory = try TemporaryDirectory()
        try HuggingFaceModelWriter.write(model, to: directory.path("model"), type: .f32, metadata: [:])
        let idsFile = directory.path("ids.i32")
        try ids.withUnsafeBufferPointer { Data(buffer: $0) }.write(to: URL(fileURLWithPath: idsFile))
        let script = ReferenceData.packageRoot.appendingPathComponent("Scripts/torch_gradients.py").path
        let outcome = try ChildProcess.run(
            URL(fileURLWithPath: Self.python),
            [
                script, directory.path("model"), idsFile, "--seqlen", "512", "--windows", "2", "--out",
                directory.path("grads.safetensors"),
            ])
        try #require(outcome.status == 0, "torch_gradients.py failed: \(outcome.stderr)")
        let summary = try #require(try JSONSerialization.jsonObject(with: outcome.output) as? [String: Any])
        let torchLoss = try #require(summary["loss"] as? Double)
        let reference = try SafetensorsFile(path: directory.path("grads.safetensors"))
        var results: [(name: String, cosine: Double, error: Double)] = []
        let loss = try ModelGradients(model: model).weights(windows: windows) { gradient in
            var mine = Tensor(name: gradient.name, shape: gradient.shape, storage: gradient.gradient)
            if let (layer, part, _) = LlamaTensorNames.parse(gradient.name), part == .query || part == .key {
                let heads = part == .query ? c.layers[layer].headCount : c.layers[layer].kvHeadCount
                mine = HuggingFaceRotaryPermutation.toHuggingFace(mine, heads: heads)
            }
            let name = try #require(ArchitectureDescriptor.huggingFaceName(gguf: gradient.name))
            let theirs = try reference.tensor(name)
            try #require(theirs.shape == mine.shape, "\(name): shape \(theirs.shape) vs \(mine.shape)")
            let (cosine, error) = Self.compare(
                UnsafeBufferPointer(mine.storage.buffer), UnsafeBufferPointer(theirs.storage.buffer))
            results.append((gradient.name, cosine, error))
        }
        #expect(results.count == model.tensors.count)
        #expect(abs(loss - torchLoss) <= 1e-4 * torchLoss, "loss \(loss) vs PyTorch \(torchLoss)")
        let worstCosine = results.min { $0.cosine < $1.cosine }!, worstError = results.max { $0.error < $1.error }!
        print(
            "torch cross-check: loss \(loss) vs \(torchLoss); worst cosine \(worstCosine.cosine) (\(worstCosine.name)), "
                + "worst relative L2 \(worstError.error) (\(worstError.name))")
        for result in results {
            #expect(result.cosine >= 0.9999, "\(result.name): cosine \(result.cosine)")
            #expect(result.error <= 1e-3, "\(result.name): relative L2 \(result.error)")
        }
    }

    @Test(
        "tiny Qwen2 and Qwen3: gradients of q/k/v biases and q/k head norms, and all others, match PyTorch",
        .enabled(if: ArchitectureCrossCheckTests.available), arguments: ["qwen2", "qwen3"])
    func qwenMatchesPyTorch(arch: String) throws {
        let directory = try TemporaryDirectory()
        let (path, _) = try ArchitectureCrossCheckTests.fixture(arch, in: directory)
        let model = try HuggingFaceModelReader.load(directory: path)
        let ids = (0..<64).map { Int32(($0 * 53 + 7) % 290) }
        let idsFile = directory.path("ids.i32")
        try ids.withUnsafeBufferPointer { Data(buffer: $0) }.write(to: URL(fileURLWithPath: idsFile))
        let script = ReferenceData.packageRoot.appendingPathComponent("Scripts/torch_gradients.py").path
        let outcome = try ChildProcess.run(
            URL(fileURLWithPath: Self.python),
            [script, path, idsFile, "--seqlen", "32", "--windows", "2", "--out", directory.path("grads.safetensors")])
        try #require(outcome.status == 0, "torch_gradients.py failed: \(outcome.stderr)")
        let summary = try #require(try JSONSerialization.jsonObject(with: outcome.output) as? [String: Any])
        let torchLoss = try #require(summary["loss"] as? Double)
        let reference = try SafetensorsFile(path: directory.path("grads.safetensors"))
        var names: [String] = []
        let loss = try ModelGradients(model: model).weights(windows: [Array(ids[0..<32]), Array(ids[32..<64])]) {
            gradient in
            let mine = HuggingFaceRotaryPermutation.convert(
                Tensor(name: gradient.name, shape: gradient.shape, storage: gradient.gradient), config: model.config,
                toGGUF: false)
            let name = try #require(ArchitectureDescriptor.huggingFaceName(gguf: gradient.name))
            let theirs = try reference.tensor(name)
            try #require(theirs.shape == mine.shape, "\(name): shape \(theirs.shape) vs \(mine.shape)")
            let (cosine, error) = Self.compare(
                UnsafeBufferPointer(mine.storage.buffer), UnsafeBufferPointer(theirs.storage.buffer))
            #expect(cosine >= 0.9999 && error <= 1e-3, "\(arch) \(name): cosine \(cosine), relative L2 \(error)")
            names.append(gradient.name)
        }
        #expect(names.count == model.tensors.count)
        #expect(names.contains(arch == "qwen2" ? "blk.1.attn_k.bias" : "blk.1.attn_k_norm.weight"))
        #expect(abs(loss - torchLoss) <= 1e-4 * torchLoss, "\(arch) loss \(loss) vs PyTorch \(torchLoss)")
    }
}
