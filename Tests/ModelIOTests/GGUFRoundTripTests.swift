import Foundation
import ModelIO
import TestSupport
import Testing

@Suite("GGUF write/read round trips")
struct GGUFRoundTripTests {
    /// One value of every metadata type, including empty and nested arrays.
    static let everyValueType: GGUFMetadata = GGUFMetadata([
        ("u8", .uint8(255)), ("i8", .int8(-128)), ("u16", .uint16(65535)), ("i16", .int16(-32768)),
        ("u32", .uint32(4_000_000_000)), ("i32", .int32(-2_000_000_000)),
        ("u64", .uint64(.max)), ("i64", .int64(.min)),
        ("f32", .float32(-1.5e-7)), ("f64", .float64(.pi)), ("f32.inf", .float32(.infinity)),
        ("yes", .bool(true)), ("no", .bool(false)),
        ("text", .string("héllo, wörld — ✓ \u{0}")), ("empty", .string("")),
        ("ints", .array(.int32, [.int32(1), .int32(-2), .int32(3)])),
        ("strings", .array(.string, [.string("a"), .string(""), .string("Ġthe")])),
        ("empty.array", .array(.float64, [])),
        (
            "nested",
            .array(
                .array,
                [
                    .array(.uint8, [.uint8(1), .uint8(2)]), .array(.uint8, []),
                    .array(.array, [.array(.string, [.string("deep")])]),
                ])
        ),
    ])

    @Test("every metadata value type survives a write and a read")
    func valueTypes() throws {
        let directory = GGUFTemporaryDirectory()
        let path = directory.path("values.gguf")
        try GGUFWriter.write(metadata: Self.everyValueType, tensors: [], to: path)
        let file = try GGUFFile(path: path)
        #expect(file.version == 3)
        #expect(file.metadata == Self.everyValueType)
        #expect(file.metadata.keys == Self.everyValueType.keys)
        #expect(file.tensors.isEmpty)
        // Writing what was read gives the same bytes.
        let again = directory.path("values-again.gguf")
        try GGUFWriter.write(metadata: file.metadata, tensors: [], to: again)
        #expect(FileManager.default.contents(atPath: again) == FileManager.default.contents(atPath: path))
    }

    @Test("a tiny model round trips exactly as F32, to rounding as F16/BF16, within half a step as Q8_0")
    func tinyModel() throws {
        let directory = GGUFTemporaryDirectory()
        // TinyModel's FFN width 48 is not a multiple of the Q8_0 block; use 64 here.
        var config = TinyModel.config
        config.layers = config.layers.map {
            LayerShape(headCount: $0.headCount, kvHeadCount: $0.kvHeadCount, ffnSize: 64)
        }
        let metadata = TinyModel.metadata(config, TinyModel.vocabulary(size: config.vocabSize))
        let tensors = TinyModel.tensors(config, seed: 3)
        for type in [GGMLType.f32, .f16, .bf16, .q8_0] {
            let path = directory.path("tiny-\(type.name).gguf")
            try GGUFWriter.write(metadata: metadata, tensors: tensors.map { .init(tensor: $0, type: type) }, to: path)
            let file = try GGUFFile(path: path)
            #expect(file.metadata == metadata)
            #expect(file.tensors.map(\.name) == tensors.map(\.name))
            for original in tensors {
                let info = try #require(file.tensorInfo(named: original.name))
                #expect(info.type == type)
                #expect(info.offset % file.alignment == 0)
                let copy = try file.loadTensor(info)
                #expect(copy.shape == original.shape)
                #expect(copy.sourceType == type)
                let a = original.storage.buffer, b = copy.storage.buffer
                switch type {
                case .f32:
                    #expect(a.map(\.bitPattern) == b.map(\.bitPattern), "\(original.name)")
                case .f16:
                    #expect(zip(a, b).allSatisfy { Float(Float16($0)) == $1 }, "\(original.name)")
                case .bf16:
                    // Round to nearest even on the top 16 bits.
                    let rounded = a.map { x -> Float in
                        let bits = x.bitPattern
                        return Float(bitPattern: ((bits &+ 0x7FFF &+ ((bits >> 16) & 1)) >> 16) << 16)
                    }
                    #expect(zip(rounded, b).allSatisfy { $0 == $1 }, "\(original.name)")
                    #expect(zip(a, b).allSatisfy { abs($0 - $1) <= abs($0) / 256 }, "\(original.name)")
                default:
                    for start in stride(from: 0, to: a.count, by: 32) {
                        let block = start..<(start + 32)
                        let amax = a[block].map(abs).max()!
                        let step = Float(Float16(amax / 127))
                        let bound = step / 2 + 127 * abs(step - amax / 127) + 1e-7
                        #expect(
                            block.allSatisfy { abs(a[$0] - b[$0]) <= bound }, "\(original.name) block \(start / 32)")
                    }
                }
            }
        }
    }

    @Test("alignment: default 32 adds no key; another alignment is written to general.alignment and honoured")
    func alignment() throws {
        let directory = GGUFTemporaryDirectory()
        let tensor = Tensor(name: "t", shape: [3, 32], storage: TensorStorage((0..<96).map { Float($0) }))
        let plain = directory.path("plain.gguf")
        try GGUFWriter.write(
            metadata: GGUFMetadata([("k", .string("v"))]), tensors: [.init(tensor: tensor, type: .f16)], to: plain)
        let plainFile = try GGUFFile(path: plain)
        #expect(plainFile.alignment == 32 && plainFile.metadata[GGUFFormat.alignmentKey] == nil)
        #expect(plainFile.dataOffset % 32 == 0)

        let wide = directory.path("wide.gguf")
        let entries: [GGUFWriter.Entry] = [
            .init(tensor: tensor, type: .q8_0),
            .init(tensor: Tensor(name: "u", shape: [5], storage: TensorStorage([1, 2, 3, 4, 5])), type: .f32),
        ]
        try GGUFWriter.write(metadata: plainFile.metadata, tensors: entries, to: wide, alignment: 256)
        let wideFile = try GGUFFile(path: wide)
        #expect(wideFile.alignment == 256)
        #expect(wideFile.metadata[GGUFFormat.alignmentKey] == .uint32(256))
        #expect(wideFile.dataOffset % 256 == 0 && wideFile.tensors.allSatisfy { $0.offset % 256 == 0 })
        #expect(try wideFile.loadTensor(wideFile.tensors[1]).storage.array == [1, 2, 3, 4, 5])

        // Without an explicit alignment the writer keeps the metadata's.
        let kept = directory.path("kept.gguf")
        try GGUFWriter.write(metadata: wideFile.metadata, tensors: entries, to: kept)
        #expect(try GGUFFile(path: kept).alignment == 256)
        #expect(FileManager.default.contents(atPath: kept) == FileManager.default.contents(atPath: wide))
    }

    @Test("metadata values compare as their encoded bytes: NaN equals itself, 0.0 differs from -0.0")
    func encodedEquality() throws {
        #expect(GGUFValue.float32(.nan) == .float32(.nan))
        #expect(GGUFValue.float64(0) != .float64(-0.0))
        #expect(GGUFValue.string("\u{E9}") != .string("e\u{301}"))
        #expect(GGUFValue.array(.uint8, []) != .array(.int8, []))
        #expect(GGUFValue.uint32(1) != .int32(1))
        let directory = GGUFTemporaryDirectory()
        let metadata = GGUFMetadata([
            ("nan", .float32(.nan)), ("negative.zero", .float64(-0.0)), ("nfd", .string("e\u{301}")),
        ])
        let path = directory.path("odd-values.gguf")
        try GGUFWriter.write(metadata: metadata, tensors: [], to: path)
        #expect(try GGUFFile(path: path).metadata == metadata)
    }

    @Test("the writer rejects bad entries with the tensor or key named, and leaves no file behind")
    func writerErrors() throws {
        let directory = GGUFTemporaryDirectory()
        let path = directory.path("out.gguf")
        let good = Tensor(name: "good", shape: [2, 32], storage: TensorStorage(zeros: 64))
        let bad = Tensor(name: "bad", shape: [2, 32], storage: TensorStorage(zeros: 64))
        bad.storage.buffer[5] = .nan
        let cases: [(GGUFMetadata, [GGUFWriter.Entry], Int?, String, String)] = [
            (GGUFMetadata(), [.init(tensor: good, type: .q4_K)], nil, "good", "cannot write tensors of type q4_K"),
            (
                GGUFMetadata(), [.init(tensor: good, type: .f32), .init(tensor: good, type: .f16)], nil, "good",
                "appears twice"
            ),
            (
                GGUFMetadata(),
                [.init(tensor: Tensor(name: "odd", shape: [3, 31], storage: TensorStorage(zeros: 93)), type: .q8_0)],
                nil,
                "odd", "not a multiple of the q8_0 block size 32"
            ),
            (
                GGUFMetadata(),
                [
                    .init(
                        tensor: Tensor(name: "five", shape: [1, 1, 1, 1, 2], storage: TensorStorage(zeros: 2)),
                        type: .f32)
                ], nil,
                "five", "1 to 4 positive dimensions"
            ),
            (GGUFMetadata(), [.init(tensor: bad, type: .q8_0)], nil, "bad", "q8_0 needs finite values"),
            (
                GGUFMetadata(),
                [
                    .init(
                        tensor: Tensor(
                            name: String(repeating: "n", count: 64), shape: [1], storage: TensorStorage([0])),
                        type: .f32)
                ],
                nil, String(repeating: "n", count: 64), "tensor name must be 1 to 63 bytes long"
            ),
            (GGUFMetadata(), [], 48, "general.alignment", "power of two"),
            (GGUFMetadata([("general.alignment", .string("x"))]), [], nil, "general.alignment", "must be an integer"),
            (
                GGUFMetadata([("mixed", .array(.int32, [.int32(1), .uint8(2)]))]), [], nil, "mixed",
                "array of int32 holds an element of type uint8"
            ),
        ]
        for (metadata, entries, alignment, item, message) in cases {
            let error = #expect(throws: ModelIOError.self) {
                try GGUFWriter.write(metadata: metadata, tensors: entries, to: path, alignment: alignment)
            }
            #expect(error?.path == path)
            #expect(error?.item == item)
            #expect(error?.message.contains(message) == true, "\(error?.description ?? "no error")")
        }
        #expect(directory.fileNames.isEmpty, "left behind: \(directory.fileNames)")
    }

    @Test("a failed write leaves an existing destination untouched; a successful one replaces it whole")
    func atomicReplacement() throws {
        let directory = GGUFTemporaryDirectory()
        let path = directory.write(Array("previous contents".utf8), name: "model.gguf")
        let nan = Tensor(name: "nan", shape: [32], storage: TensorStorage([Float](repeating: .nan, count: 32)))
        #expect(throws: ModelIOError.self) {
            try GGUFWriter.write(metadata: GGUFMetadata(), tensors: [.init(tensor: nan, type: .q8_0)], to: path)
        }
        #expect(FileManager.default.contents(atPath: path) == Data("previous contents".utf8))
        try GGUFWriter.write(
            metadata: GGUFMetadata([("a", .bool(true))]), tensors: [.init(tensor: nan, type: .f32)], to: path)
        #expect(try GGUFFile(path: path).metadata["a"] == .bool(true))
        #expect(directory.fileNames == ["model.gguf"])
        // A destination in a missing directory is an error naming the path, not a crash.
        let missing = directory.path("no/such/dir/out.gguf")
        let error = #expect(throws: ModelIOError.self) {
            try GGUFWriter.write(metadata: GGUFMetadata(), tensors: [], to: missing)
        }
        #expect(error?.path == missing)
    }

    @Test("a version 2 file reads like version 3")
    func version2() throws {
        let directory = GGUFTemporaryDirectory()
        var raw = RawGGUF.valid()
        raw.version = 2
        let file = try GGUFFile(path: directory.write(raw.bytes, name: "v2.gguf"))
        #expect(file.version == 2)
        #expect(try file.loadTensor(file.tensors[0]).storage.array == (0..<8).map(Float.init))
        let b = try file.loadTensor(file.tensors[1])
        #expect(b.shape == [2, 32])
        #expect(b.storage.buffer[0] == -8 && b.storage.buffer[32 + 31] == 8)
    }
}
