import Foundation
import ModelIO
import TestSupport
import Testing

/// Reading and writing llama.cpp importance matrices (GGUF and legacy `.dat`), and the checks
/// against a model, on files the tests write.
struct ImportanceMatrixTests {
    /// An entry per linear matrix of the tiny model: channel j of entry k sums (j + k + 1) × 0.5
    /// over 64 tokens.
    static func entries(_ model: Model) -> [ImportanceMatrix.Entry] {
        let names = model.tensorNames.filter { $0.hasPrefix("blk.") && model.tensor($0)!.shape.count == 2 }
        return names.enumerated().map { index, name in
            let columns = model.tensor(name)!.columns
            return ImportanceMatrix.Entry(
                name: name, sumOfSquares: (0..<columns).map { Float($0 + index + 1) * 0.5 }, count: 64)
        }
    }

    /// The legacy layout as llama-imatrix writes it: per entry name, calls, values (mean × calls);
    /// then the chunk count and the dataset name.
    static func legacyBytes(name: String, calls: Int32, means: [Float], dataset: String) -> Data {
        var data = Data()
        func int32(_ value: Int32) { withUnsafeBytes(of: value.littleEndian) { data.append(contentsOf: $0) } }
        int32(1)
        int32(Int32(name.utf8.count))
        data.append(contentsOf: Array(name.utf8))
        int32(calls)
        int32(Int32(means.count))
        for mean in means {
            withUnsafeBytes(of: (mean * Float(calls)).bitPattern.littleEndian) { data.append(contentsOf: $0) }
        }
        int32(calls)
        int32(Int32(dataset.utf8.count))
        data.append(contentsOf: Array(dataset.utf8))
        return data
    }

    @Test("a written GGUF imatrix reads back with its sums, counts and keys, and fits its model")
    func ggufRoundTrip() throws {
        let model = try TinyModel.make()
        let directory = try TemporaryDirectory()
        let path = directory.path("tiny.imatrix.gguf")
        let written = ImportanceMatrix(
            path: path, entries: Self.entries(model), datasets: ["calib.txt"], chunkCount: 4, chunkSize: 16)
        try written.write(to: path)
        let read = try ImportanceMatrix(path: path)
        #expect(read.format == .gguf)
        #expect(read.entries == written.entries)
        #expect(read.datasets == ["calib.txt"] && read.chunkCount == 4 && read.chunkSize == 16)
        try read.check(against: model)
        let file = try GGUFFile(path: path)
        #expect(file.metadata["general.type"]?.string == "imatrix")
        let sums = try #require(file.tensorInfo(named: "blk.0.attn_q.weight.in_sum2"))
        #expect(sums.dimensions == [32, 1] && sums.type == .f32)
        #expect(file.tensorInfo(named: "blk.0.attn_q.weight.counts")?.dimensions == [1, 1])
        let mean = try #require(read.meanSquares(of: "blk.0.attn_q.weight"))
        #expect(mean[3] == read.entries["blk.0.attn_q.weight"]!.sumOfSquares[3] / 64)
    }

    @Test("the legacy .dat layout reads as mean x² = value / calls, with its trailer")
    func legacy() throws {
        let directory = try TemporaryDirectory()
        let path = directory.path("old.dat")
        let means = (0..<32).map { Float($0) * 0.25 + 1 }
        try Self.legacyBytes(name: "blk.0.attn_q.weight", calls: 8, means: means, dataset: "wiki.txt")
            .write(to: URL(fileURLWithPath: path))
        let read = try ImportanceMatrix(path: path)
        #expect(read.format == .legacy && read.chunkCount == 8 && read.datasets == ["wiki.txt"])
        #expect(read.meanSquares(of: "blk.0.attn_q.weight") == means)
        try read.check(against: try TinyModel.make())
    }

    @Test("a truncated legacy file is refused naming the entry and what is missing")
    func truncatedLegacy() throws {
        let directory = try TemporaryDirectory()
        let bytes = Self.legacyBytes(
            name: "blk.0.attn_q.weight", calls: 8, means: [Float](repeating: 1, count: 32), dataset: "wiki.txt")
        // Cut inside the name, inside the values, and inside the trailer.
        for (cut, item) in [(10, "entry 1 of 1"), (60, "blk.0.attn_q.weight"), (bytes.count - 3, nil)] {
            let path = directory.path("cut\(cut).dat")
            try bytes.prefix(cut).write(to: URL(fileURLWithPath: path))
            let error = try #require(throws: ModelIOError.self) { try ImportanceMatrix(path: path) }
            #expect(error.path == path)
            if let item {
                #expect(error.item == item && error.message.contains("truncated"), "\(error)")
            }
        }
    }

    @Test("a truncated GGUF imatrix is refused naming the file")
    func truncatedGGUF() throws {
        let model = try TinyModel.make()
        let directory = try TemporaryDirectory()
        let path = directory.path("full.gguf")
        try ImportanceMatrix(path: path, entries: Self.entries(model)).write(to: path)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        let cut = directory.path("cut.gguf")
        try bytes.prefix(bytes.count - 100).write(to: URL(fileURLWithPath: cut))
        let error = try #require(throws: ModelIOError.self) { try ImportanceMatrix(path: cut) }
        #expect(error.path == cut)
    }

    @Test("a model file, several experts, a sum without a count and a zero count are refused")
    func badGGUF() throws {
        let directory = try TemporaryDirectory()
        func f32(_ name: String, _ shape: [Int], _ value: Float) -> GGUFWriter.Entry {
            let count = shape.reduce(1, *)
            return GGUFWriter.Entry(
                tensor: Tensor(
                    name: name, shape: shape, storage: TensorStorage(count: count) { $0.update(repeating: value) }),
                type: .f32)
        }
        var imatrixType = GGUFMetadata()
        imatrixType["general.type"] = .string("imatrix")
        var modelType = GGUFMetadata()
        modelType["general.type"] = .string("model")
        let cases: [(String, GGUFMetadata, [GGUFWriter.Entry], String?, String)] = [
            ("model", modelType, [f32("blk.0.attn_q.weight", [4, 32], 1)], "general.type", "not 'imatrix'"),
            (
                "experts", imatrixType,
                [f32("blk.0.attn_q.weight.in_sum2", [2, 32], 1), f32("blk.0.attn_q.weight.counts", [2, 1], 4)],
                "blk.0.attn_q.weight.in_sum2", "expert"
            ),
            (
                "nocount", imatrixType, [f32("blk.0.attn_q.weight.in_sum2", [1, 32], 1)],
                "blk.0.attn_q.weight.in_sum2", "no blk.0.attn_q.weight.counts"
            ),
            (
                "zero", imatrixType,
                [f32("blk.0.attn_q.weight.in_sum2", [1, 32], 1), f32("blk.0.attn_q.weight.counts", [1, 1], 0)],
                "blk.0.attn_q.weight.in_sum2", "count is 0"
            ),
        ]
        for (name, metadata, tensors, item, message) in cases {
            let path = directory.path("\(name).gguf")
            try GGUFWriter.write(metadata: metadata, tensors: tensors, to: path)
            let error = try #require(throws: ModelIOError.self) { try ImportanceMatrix(path: path) }
            #expect(error.path == path && error.item == item && error.message.contains(message), "\(error)")
        }
    }

    @Test("an imatrix for another model (a name it lacks, another width) is refused naming the entry")
    func otherModel() throws {
        let model = try TinyModel.make()
        let extra = ImportanceMatrix(
            path: "x.gguf", entries: [.init(name: "blk.7.attn_q.weight", sumOfSquares: [1, 2], count: 1)])
        let missing = try #require(throws: ModelIOError.self) { try extra.check(against: model) }
        #expect(missing.item == "blk.7.attn_q.weight" && missing.message.contains("another model"))
        let narrow = ImportanceMatrix(
            path: "x.gguf",
            entries: [.init(name: "blk.1.ffn_down.weight", sumOfSquares: [Float](repeating: 1, count: 32), count: 1)])
        let width = try #require(throws: ModelIOError.self) { try narrow.check(against: model) }
        #expect(width.item == "blk.1.ffn_down.weight" && width.message.contains("48 inputs"), "\(width)")
    }
}
