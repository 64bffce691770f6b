import Foundation
import ModelIO
import TestSupport
import Testing

@Suite("GGUF corrupt files")
struct GGUFCorruptFileTests {
    /// One way of breaking a valid file, and what the error must say.
    struct Case: Sendable, CustomStringConvertible {
        var description: String
        var item: String?
        var message: String
        var bytes: @Sendable () -> [UInt8]

        init(_ description: String, item: String?, _ message: String, bytes: @escaping @Sendable () -> [UInt8]) {
            self.description = description
            self.item = item
            self.message = message
            self.bytes = bytes
        }

        init(_ description: String, item: String?, _ message: String, edit: @escaping @Sendable (inout RawGGUF) -> Void)
        {
            self.init(description, item: item, message) {
                var file = RawGGUF.valid()
                edit(&file)
                return file.bytes
            }
        }
    }

    static let f32 = GGMLType.f32.rawValue, q8_0 = GGMLType.q8_0.rawValue
    static let uint32Type = GGUFValueType.uint32.rawValue

    static let cases: [Case] = [
        Case("empty file", item: nil, "truncated: the magic bytes needs 4 bytes") { [] },
        Case("truncated inside the tensor table", item: "b", "truncated") { Array(RawGGUF.valid().bytes.prefix(150)) },
        Case("truncated inside the data", item: "b", "outside the file's data section") {
            Array(RawGGUF.valid().bytes.dropLast(1))
        },
        Case("wrong magic", item: nil, "not a GGUF file") { $0.magic = Array("GGML".utf8) },
        Case("version 1", item: nil, "GGUF version 1 is not supported") { $0.version = 1 },
        Case("unknown version", item: nil, "unknown GGUF version 4") { $0.version = 4 },
        Case("big-endian file", item: nil, "big-endian GGUF files are not supported") {
            $0.version = UInt32(3).byteSwapped
        },
        Case("unknown value type", item: "weird", "unknown metadata value type 13") {
            $0.entries.append(RawGGUF.entry("weird", type: 13) { $0.integer(UInt32(0)) })
        },
        Case("string longer than the file", item: "general.name", "length of the string value 1000000 exceeds") {
            $0.entries.append(
                RawGGUF.entry("general.name", type: GGUFValueType.string.rawValue) { $0.integer(UInt64(1_000_000)) })
        },
        Case("array longer than the file", item: "tokens", "array element count 4611686018427387904 exceeds") {
            $0.entries.append(
                RawGGUF.entry("tokens", type: GGUFValueType.array.rawValue) {
                    $0.integer(GGUFValueType.string.rawValue)
                    $0.integer(UInt64(1) << 62)
                })
        },
        Case("huge metadata key count", item: nil, "metadata key count 18446744073709551615 exceeds") {
            $0.entryCount = .max
        },
        Case("huge tensor count", item: nil, "tensor count 1099511627776 exceeds") { $0.tensorCount = 1 << 40 },
        Case("tensor count larger than the table", item: "tensor #2", "tensor name is empty") { $0.tensorCount = 3 },
        Case(
            "tensor count larger than the file", item: "tensor #2",
            "file is truncated: length of the name needs 8 bytes"
        ) {
            $0.tensorCount = 3
            $0.alignment = 1
            $0.data = []
        },
        Case("empty metadata key", item: "metadata entry #2", "key is empty") {
            $0.entries.append(RawGGUF.stringEntry("", "x"))
        },
        Case("dimensions whose product overflows", item: "a", "overflow the element count") {
            $0.tensorInfos[0] = RawGGUF.tensorInfo("a", dimensions: [1 << 32, 1 << 32], type: f32, offset: 0)
        },
        Case("byte count overflows", item: "a", "overflow the byte count") {
            $0.tensorInfos[0] = RawGGUF.tensorInfo("a", dimensions: [1 << 31, 1 << 31], type: f32, offset: 0)
        },
        Case("zero dimensions", item: "a", "tensor has 0 dimensions; GGUF allows 1 to 4") {
            $0.tensorInfos[0] = RawGGUF.tensorInfo("a", dimensions: [], type: f32, offset: 0)
        },
        Case("five dimensions", item: "a", "tensor has 5 dimensions; GGUF allows 1 to 4") {
            $0.tensorInfos[0] = RawGGUF.tensorInfo("a", dimensions: [1, 1, 1, 1, 8], type: f32, offset: 0)
        },
        Case("a zero-length dimension", item: "a", "dimension 0 is not a positive element count") {
            $0.tensorInfos[0] = RawGGUF.tensorInfo("a", dimensions: [8, 0], type: f32, offset: 0)
        },
        Case("unknown tensor type", item: "a", "unknown tensor type 99") {
            $0.tensorInfos[0] = RawGGUF.tensorInfo("a", dimensions: [8], type: 99, offset: 0)
        },
        Case(
            "row not a multiple of the block size", item: "b",
            "row length 33 is not a multiple of the q8_0 block size 32"
        ) {
            $0.tensorInfos[1] = RawGGUF.tensorInfo("b", dimensions: [33, 2], type: q8_0, offset: 32)
        },
        Case("tensor data outside the file", item: "b", "lies outside the file's data section of 100 bytes") {
            $0.tensorInfos[1] = RawGGUF.tensorInfo("b", dimensions: [32, 2], type: q8_0, offset: 4096)
        },
        Case("tensor offset near 2^64", item: "b", "data offset 18446744073709551584 lies outside the file") {
            $0.tensorInfos[1] = RawGGUF.tensorInfo("b", dimensions: [32, 2], type: q8_0, offset: UInt64.max - 31)
        },
        Case("misaligned tensor offset", item: "b", "data offset 16 is not a multiple of the alignment 32") {
            $0.tensorInfos[1] = RawGGUF.tensorInfo("b", dimensions: [32, 2], type: q8_0, offset: 16)
        },
        Case("overlapping tensors", item: "b", "overlaps that of tensor a") {
            $0.tensorInfos[1] = RawGGUF.tensorInfo("b", dimensions: [32, 1], type: q8_0, offset: 0)
        },
        Case("duplicate tensor names", item: "a", "tensor name appears twice") {
            $0.tensorInfos[1] = RawGGUF.tensorInfo("a", dimensions: [32, 2], type: q8_0, offset: 32)
        },
        Case("duplicate metadata keys", item: "general.architecture", "metadata key appears twice") {
            $0.entries.append(RawGGUF.stringEntry("general.architecture", "gpt2"))
        },
        Case("alignment zero", item: "general.alignment", "must be a nonzero power of two, found 0") {
            $0.entries.append(RawGGUF.entry("general.alignment", type: uint32Type) { $0.integer(UInt32(0)) })
        },
        Case("alignment not a power of two", item: "general.alignment", "must be a nonzero power of two, found 24") {
            $0.entries.append(RawGGUF.entry("general.alignment", type: uint32Type) { $0.integer(UInt32(24)) })
        },
        Case("alignment of the wrong type", item: "general.alignment", "must be a uint32, found string") {
            $0.entries.append(RawGGUF.stringEntry("general.alignment", "32"))
        },
        Case("key that is not UTF-8", item: "metadata entry #2", "is not valid UTF-8") {
            $0.entries.append([2, 0, 0, 0, 0, 0, 0, 0, 0xC3, 0x28, 4, 0, 0, 0, 1, 0, 0, 0])
        },
        Case("bool that is neither 0 nor 1", item: "flag", "bool value 2 is neither 0 nor 1") {
            $0.entries.append(RawGGUF.entry("flag", type: GGUFValueType.bool.rawValue) { $0.integer(UInt8(2)) })
        },
        Case("arrays nested too deep", item: "deep", "arrays nested deeper than 8 levels") {
            $0.entries.append(
                RawGGUF.entry("deep", type: GGUFValueType.array.rawValue) {
                    for _ in 0..<20 {
                        $0.integer(GGUFValueType.array.rawValue)
                        $0.integer(UInt64(1))
                    }
                })
        },
    ]

    @Test("each corruption is refused with a message naming what is wrong", arguments: cases)
    func corrupt(_ corruption: Case) throws {
        let directory = GGUFTemporaryDirectory()
        let path = directory.write(corruption.bytes(), name: "corrupt.gguf")
        let error = #expect(throws: ModelIOError.self) { _ = try GGUFFile(path: path) }
        #expect(error?.path == path)
        #expect(error?.item == corruption.item, "\(error?.description ?? "")")
        #expect(error?.message.contains(corruption.message) == true, "\(error?.description ?? "no error")")
    }

    @Test("the unbroken base file of the table is valid")
    func baseIsValid() throws {
        let directory = GGUFTemporaryDirectory()
        let file = try GGUFFile(path: directory.write(RawGGUF.valid().bytes, name: "valid.gguf"))
        #expect(file.tensors.map(\.name) == ["a", "b"])
        #expect(try file.loadAllTensors().map(\.count) == [8, 64])
        #expect(try file.loadTensor(named: "a").storage.array == (0..<8).map(Float.init))
        #expect(throws: ModelIOError(path: file.path, item: "c", "tensor is missing")) {
            _ = try file.loadTensor(named: "c")
        }
        var foreign = file.tensors[0]
        foreign.dimensions = [4096]
        #expect(throws: ModelIOError(path: file.path, item: "a", "tensor info does not describe a tensor of this file"))
        {
            _ = try file.loadTensor(foreign)
        }
    }

    @Test("a tensor of a type without a dequantizer opens but cannot be loaded, naming tensor and type")
    func unsupportedType() throws {
        let directory = GGUFTemporaryDirectory()
        var raw = RawGGUF.valid()
        raw.tensorInfos.append(RawGGUF.tensorInfo("k", dimensions: [256], type: GGMLType.q2_K.rawValue, offset: 128))
        raw.data += [UInt8](repeating: 0, count: 28 + 84)
        let file = try GGUFFile(path: directory.write(raw.bytes, name: "q2k.gguf"))
        let info = try #require(file.tensorInfo(named: "k"))
        #expect(file.rawData(of: info).count == 84)
        let error = #expect(throws: ModelIOError.self) { _ = try file.loadTensor(info) }
        #expect(error?.item == "k")
        #expect(error?.message.contains("tensor type q2_K (ggml type 10) cannot be dequantized") == true)
    }

    @Test("missing files and directories are errors, not crashes")
    func notAFile() {
        let directory = GGUFTemporaryDirectory()
        let missing = directory.path("missing.gguf")
        #expect(throws: ModelIOError(path: missing, "cannot open: No such file or directory")) {
            _ = try GGUFFile(path: missing)
        }
        #expect(throws: ModelIOError(path: directory.url.path, "not a regular file")) {
            _ = try GGUFFile(path: directory.url.path)
        }
    }
}
