import Foundation
import ModelIO
import TestSupport
import Testing

@Suite("Safetensors read/write round trips")
struct SafetensorsRoundTripTests {
    static let shapes: [(String, [Int])] = [
        ("model.layers.0.mlp.down_proj.weight", [24, 40]), ("a.bias", [7]), ("scalar", []),
        ("empty", [0, 5]), ("cube", [3, 4, 5]), ("z.last", [1]),
    ]

    static func tensors(seed: UInt64) -> [Tensor] {
        shapes.enumerated().map { SafetensorsTestFiles.randomTensor($1.0, shape: $1.1, seed: seed + UInt64($0)) }
    }

    /// The value `type` stores for `value`.
    static func quantised(_ value: Float, _ type: SafetensorsDType) -> Float {
        switch type {
        case .f32: value
        case .f16, .bf16: decoded16(encoded16([value], as: type), as: type)[0]
        }
    }

    @Test(
        "each dtype round-trips (exactly for F32, to the rounded value for F16/BF16)",
        arguments: SafetensorsDType.allCases)
    func roundTrip(type: SafetensorsDType) throws {
        let directory = try SafetensorsTestFiles.makeDirectory()
        defer { SafetensorsTestFiles.remove(directory) }
        let path = directory + "/t.safetensors"
        let original = Self.tensors(seed: 11)
        try SafetensorsWriter.write(
            original, type: type, metadata: ["format": "pt", "source": "test \"quoted\" ü"], to: path)
        let file = try SafetensorsFile(path: path)
        #expect(file.metadata == ["format": "pt", "source": "test \"quoted\" ü"])
        #expect(file.tensorNames == original.map(\.name).sorted())
        for tensor in original {
            let read = try file.tensor(tensor.name)
            #expect(read.shape == tensor.shape)
            #expect(read.sourceType == type.ggmlType)
            let expected = tensor.storage.array.map { Self.quantised($0, type).bitPattern }
            #expect(read.storage.array.map(\.bitPattern) == expected, "\(tensor.name)")
        }
        let size = try FileManager.default.attributesOfItem(atPath: path)[.size] as! Int
        let headerLength = Int(
            try Data(contentsOf: URL(fileURLWithPath: path)).prefix(8).withUnsafeBytes {
                $0.loadUnaligned(as: UInt64.self)
            })
        #expect(headerLength % 8 == 0)
        #expect(size == 8 + headerLength + original.reduce(0) { $0 + $1.count * type.byteCount })
    }

    @Test("the header matches the reference library's byte layout")
    func referenceLayout() throws {
        // The serialisation the reference library's own test expects for one F32 tensor "attn.0"
        // of shape [1, 2, 3] holding 0...5: a 64-byte header, no padding needed.
        let tensor = Tensor(name: "attn.0", shape: [1, 2, 3], storage: TensorStorage([0, 1, 2, 3, 4, 5]))
        let (header, _) = try SafetensorsWriter.header(for: [tensor], type: .f32, metadata: [:], path: "x")
        let json = #"{"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}}"#
        #expect(header == [64, 0, 0, 0, 0, 0, 0, 0] + Array(json.utf8))
        let (padded, _) = try SafetensorsWriter.header(for: [], type: .f32, metadata: ["framework": "pt"], path: "x")
        #expect(
            padded == [40, 0, 0, 0, 0, 0, 0, 0] + Array(#"{"__metadata__":{"framework":"pt"}}"#.utf8) + [
                32, 32, 32, 32, 32,
            ])
    }

    @Test("a file with holes-free offsets in any header order reads back")
    func unsortedHeader() throws {
        let directory = try SafetensorsTestFiles.makeDirectory()
        defer { SafetensorsTestFiles.remove(directory) }
        let data: [UInt8] = [0, 0, 128, 63, 0, 0, 0, 64, 0x80, 0x3F]
        let header =
            #"{"b":{"dtype":"BF16","shape":[1],"data_offsets":[8,10]},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#
        let path = try SafetensorsTestFiles.write(
            SafetensorsTestFiles.raw(header: header, data: data), named: "u.safetensors", in: directory)
        let file = try SafetensorsFile(path: path)
        #expect(file.tensorNames == ["a", "b"])
        #expect(try file.tensor("a").storage.array == [1, 2])
        #expect(try file.tensor("b").storage.array == [1])
    }

    @Test("sharded checkpoints are split like huggingface_hub and read back through the index")
    func sharded() throws {
        let directory = try SafetensorsTestFiles.makeDirectory()
        defer { SafetensorsTestFiles.remove(directory) }
        let original = (0..<7).map {
            SafetensorsTestFiles.randomTensor("t.\($0).weight", shape: [10, 10 * ($0 % 3 + 1)], seed: UInt64($0))
        }
        // 400, 800, 1200, 400, 800, 1200, 400 bytes with a 1000-byte limit: each 1200 becomes a
        // shard of its own at once, and no two neighbours fit together.
        let plan = SafetensorsWriter.shardPlan(original, type: .f32, maxShardSize: 1000)
        #expect(
            plan.map { $0.map(\.name) } == [
                ["t.0.weight"], ["t.2.weight"], ["t.1.weight"], ["t.3.weight"],
                ["t.5.weight"], ["t.4.weight"], ["t.6.weight"],
            ])
        #expect(SafetensorsWriter.shardPlan(original, type: .f32, maxShardSize: 2400).map(\.count) == [3, 3, 1])
        let names = try SafetensorsWriter.writeCheckpoint(
            original, type: .f32, metadata: ["format": "pt"], directory: directory, maxShardSize: 1000)
        #expect(
            names == (1...7).map { SafetensorsWriter.shardFileName($0, of: 7) } + [SafetensorsCheckpoint.indexFileName])
        #expect(names[0] == "model-00001-of-00007.safetensors")
        let checkpoint = try SafetensorsCheckpoint(directory: directory)
        #expect(checkpoint.files.count == 7)
        #expect(Set(checkpoint.tensorNames) == Set(original.map(\.name)))
        #expect(checkpoint.metadata == ["format": "pt"])
        for tensor in original {
            #expect(try checkpoint.tensor(tensor.name).storage.array == tensor.storage.array)
        }
        let index = try String(contentsOfFile: directory + "/" + SafetensorsCheckpoint.indexFileName, encoding: .utf8)
        #expect(index.contains("\"total_size\": 5200"))
    }

    @Test("a small checkpoint is one model.safetensors")
    func singleFile() throws {
        let directory = try SafetensorsTestFiles.makeDirectory()
        defer { SafetensorsTestFiles.remove(directory) }
        let names = try SafetensorsWriter.writeCheckpoint(Self.tensors(seed: 3), type: .bf16, directory: directory)
        #expect(names == [SafetensorsCheckpoint.singleFileName])
        #expect(try SafetensorsCheckpoint(directory: directory).tensorNames.count == Self.shapes.count)
    }

    @Test("the writer refuses to overwrite and to repeat a name")
    func writerRefusals() throws {
        let directory = try SafetensorsTestFiles.makeDirectory()
        defer { SafetensorsTestFiles.remove(directory) }
        let path = directory + "/x.safetensors"
        let tensor = SafetensorsTestFiles.randomTensor("w", shape: [2], seed: 1)
        try SafetensorsWriter.write([tensor], type: .f32, to: path)
        #expect(throws: ModelIOError.self) { try SafetensorsWriter.write([tensor], type: .f32, to: path) }
        #expect(throws: ModelIOError.self) {
            try SafetensorsWriter.write([tensor, tensor], type: .f32, to: directory + "/y.safetensors")
        }
        #expect(!FileManager.default.fileExists(atPath: directory + "/y.safetensors"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == ["x.safetensors"])
    }
}
