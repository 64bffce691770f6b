import Foundation
import ModelIO
import TestSupport
import Testing

/// Streamed models (`ModelResidency.streamed`): matrices left in the mapped GGUF file and decoded
/// on read through a bounded cache, pruned layers spilled to a scratch file. Everything a reader,
/// the writer or a prune sees must be bit-identical to a resident load.
@Suite struct StreamedModelTests {
    /// Tensor values by name.
    static func values(_ model: Model) -> [String: [Float]] {
        Dictionary(uniqueKeysWithValues: model.tensors.map { ($0.name, $0.storage.array) })
    }

    /// A four-layer random model of TinyModel's width, written as `type` (and as qwen2, whose GGUF
    /// keeps q/k rows in Hugging Face order, when `qwen`).
    static func write(_ type: OutputType, qwen: Bool = false, to path: String) throws {
        var config = TinyModel.config
        config.layers = Array(repeating: config.layers[0], count: 4)
        config.attentionBiases = qwen
        try SyntheticModel.write(config: config, type: type, seed: 3, name: "streamed", to: path)
    }

    @Test(
        "a streamed model reads every tensor as the resident load does, through a cache of about one layer",
        arguments: [(OutputType.f16, false), (.q8_0, false), (.q4_0, true), (.bf16, true)])
    func sameTensors(type: OutputType, qwen: Bool) throws {
        let directory = GGUFTemporaryDirectory()
        let path = directory.path("model.gguf")
        try Self.write(type, qwen: qwen, to: path)
        let resident = try ModelLoader.load(path: path)
        let streamed = try ModelLoader.load(path: path, residency: .streamed)
        #expect(resident.residency == .resident && streamed.residency == .streamed)
        #expect(streamed.config == resident.config)
        #expect(streamed.parameterCount == resident.parameterCount)
        for tensor in streamed.tensors {
            #expect(tensor.isResident == (tensor.shape.count < 2), "\(tensor.name)")
            #expect(tensor.sourceType == resident.tensor(tensor.name)!.sourceType, "\(tensor.name)")
        }
        #expect(Self.values(streamed) == Self.values(resident))
        // Every tensor was read just now: the cache kept at most its budget, or one larger tensor.
        let cache = try #require(streamed.cache)
        let largest = streamed.tensors.map { $0.count * 4 }.max()!
        #expect(cache.heldBytes <= max(cache.budget, largest))
        #expect(cache.budget == GGUFModelReader.largestLayerBytes(streamed.config))
    }

    @Test("the cache drops the least recently used storages beyond its budget and keeps the newest")
    func cacheEviction() throws {
        let directory = GGUFTemporaryDirectory()
        let path = directory.path("model.gguf")
        try Self.write(.f32, to: path)
        let file = try GGUFFile(path: path)
        // Three tensors of one size, a budget of two of them.
        let infos = (0..<3).map { file.tensorInfo(named: "blk.\($0).attn_q.weight")! }
        let cache = TensorCache(budget: 2 * infos[0].elementCount * 4)
        let sources = infos.map { TensorSource(.gguf(file, $0), count: $0.elementCount, cache: cache) }
        let first = sources[0].load()
        #expect(sources[0].load() === first, "a second read is served from the cache")
        let second = sources[1].load()
        _ = sources[0].load() // now the most recently used
        _ = sources[2].load() // over budget: evicts source 1, the least recently used
        #expect(sources[0].load() === first)
        #expect(sources[1].load() !== second && sources[1].load().array == second.array)
        #expect(cache.heldBytes <= cache.budget)
        // One storage larger than the budget is still kept, alone.
        let small = TensorCache(budget: 4)
        let alone = TensorSource(.gguf(file, infos[0]), count: infos[0].elementCount, cache: small)
        #expect(alone.load() === alone.load())
        #expect(small.heldBytes == infos[0].elementCount * 4)
        cache.removeAll()
        #expect(cache.heldBytes == 0)
        #expect(sources[0].load() !== first && sources[0].load().array == first.array)
    }

    @Test("spill(layer:) moves a replaced layer to the scratch file; reads and the written GGUF are unchanged")
    func spill() throws {
        let directory = GGUFTemporaryDirectory()
        let path = directory.path("model.gguf")
        try Self.write(.f16, to: path)
        let resident = try ModelLoader.load(path: path)
        let streamed = try ModelLoader.load(path: path, residency: .streamed)
        streamed.scratchDirectory = directory.path("")
        for model in [resident, streamed] {
            let name = "blk.1.ffn_up.weight"
            let old = model.tensor(name)!
            let halved = TensorStorage(old.storage.array.map { $0 / 2 })
            model.replace(Tensor(name: name, shape: old.shape, storage: halved, sourceType: old.sourceType))
        }
        #expect(streamed.tensor("blk.1.ffn_up.weight")!.isResident)
        try streamed.spill(layer: 1)
        try resident.spill(layer: 1) // nothing to do for a resident model
        #expect(!streamed.tensor("blk.1.ffn_up.weight")!.isResident)
        #expect(resident.tensor("blk.1.ffn_up.weight")!.isResident)
        #expect(streamed.spilledBytes == streamed.tensor("blk.1.ffn_up.weight")!.count * 4)
        #expect(resident.spilledBytes == 0)
        // The scratch file is unlinked at once: nothing is left in its directory.
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: directory.path("")).allSatisfy { !$0.contains("spill") }
        )
        #expect(Self.values(streamed) == Self.values(resident))

        let fromStreamed = directory.path("streamed.gguf"), fromResident = directory.path("resident.gguf")
        try ModelWriter.write(streamed, to: fromStreamed, type: .f16)
        try ModelWriter.write(resident, to: fromResident, type: .f16)
        #expect(
            try Data(contentsOf: URL(fileURLWithPath: fromStreamed))
                == Data(contentsOf: URL(fileURLWithPath: fromResident)))
    }

    @Test("a scratch directory that cannot take the spill is named in a clear error; the layer stays as it was")
    func unwritableScratch() throws {
        let directory = GGUFTemporaryDirectory()
        let path = directory.path("model.gguf")
        try Self.write(.f16, to: path)
        let streamed = try ModelLoader.load(path: path, residency: .streamed)
        streamed.scratchDirectory = directory.path("missing/dir")
        let name = "blk.0.attn_q.weight"
        let old = streamed.tensor(name)!
        let zeros = TensorStorage(zeros: old.count)
        streamed.replace(Tensor(name: name, shape: old.shape, storage: zeros, sourceType: old.sourceType))
        let error = try #require(throws: ModelIOError.self) { try streamed.spill(layer: 0) }
        #expect(error.path == directory.path("missing/dir"))
        #expect(error.message.contains("cannot create a scratch file") && error.message.contains("--scratch-dir"))
        #expect(streamed.tensor(name)!.isResident && streamed.tensor(name)!.storage === zeros)
    }

    @Test(
        "a streamed load refuses a non-finite weight (named, with its index) and a truncated file, like a resident one")
    func badFiles() throws {
        let directory = GGUFTemporaryDirectory()
        let model = try TinyModel.make()
        let name = "blk.1.ffn_down.weight"
        let poisoned = model.tensor(name)!.storage.array.enumerated().map { $0.offset == 77 ? Float.nan : $0.element }
        model.replace(Tensor(name: name, shape: model.tensor(name)!.shape, storage: TensorStorage(poisoned)))
        let path = directory.path("nan.gguf")
        try ModelWriter.write(model, to: path, type: .f32)
        for residency in ModelResidency.allCases {
            let error = try #require(throws: ModelIOError.self) {
                try ModelLoader.load(path: path, residency: residency)
            }
            #expect(error.item == name && error.message.contains("element 77 is nan"), "\(residency): \(error)")
        }
        let whole = try Data(contentsOf: URL(fileURLWithPath: path))
        let truncated = directory.path("truncated.gguf")
        try whole.prefix(whole.count - 100).write(to: URL(fileURLWithPath: truncated))
        let error = try #require(throws: ModelIOError.self) {
            try ModelLoader.load(path: truncated, residency: .streamed)
        }
        #expect(error.path == truncated)
    }

    @Test("streaming reads GGUF only: a safetensors directory is refused with what to do")
    func safetensorsRefused() throws {
        let directory = GGUFTemporaryDirectory()
        let hf = directory.path("hf")
        try ModelWriter.write(try TinyModel.make(), to: hf, type: .f32)
        let error = try #require(throws: ModelIOError.self) { try ModelLoader.load(path: hf, residency: .streamed) }
        #expect(error.message.contains("streaming reads GGUF files only") && error.message.contains("shears convert"))
    }
}
