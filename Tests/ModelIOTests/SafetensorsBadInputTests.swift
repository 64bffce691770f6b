import Foundation
import ModelIO
import TestSupport
import Testing

@Suite("Safetensors bad input")
struct SafetensorsBadInputTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var label: String
        var bytes: [UInt8]
        var expected: String
        var item: String?
        var testDescription: String { label }
    }

    static let eight: [UInt8] = [0, 0, 128, 63, 0, 0, 0, 64]
    static func file(_ header: String, _ data: [UInt8] = eight, declared: UInt64? = nil) -> [UInt8] {
        SafetensorsTestFiles.raw(header: header, data: data, declaredLength: declared)
    }
    static let valid = #"{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#

    static let cases: [Case] = [
        Case(label: "empty file", bytes: [], expected: "too short"),
        Case(label: "truncated length", bytes: [8, 0, 0], expected: "too short"),
        Case(label: "header longer than the file", bytes: Array(file(valid).prefix(30)), expected: "runs past the end"),
        Case(label: "absurd header length", bytes: file(valid, declared: 200_000_000), expected: "exceeds"),
        Case(label: "huge header length", bytes: file(valid, declared: UInt64.max), expected: "exceeds"),
        Case(
            label: "truncated data", bytes: Array(file(valid).dropLast(3)), expected: "past the 5-byte data section",
            item: "w"),
        Case(
            label: "trailing data", bytes: file(valid, eight + [1, 2, 3, 4]),
            expected: "tensors cover 8 bytes but the data section has 12"),
        Case(label: "invalid JSON", bytes: file(#"{"w":{"dtype":"F32","#), expected: "not valid JSON"),
        Case(
            label: "invalid UTF-8", bytes: file("{\"\u{FF}\":1}").map { $0 == 0xC3 ? 0xFF : $0 },
            expected: "not valid JSON"),
        Case(label: "JSON not an object", bytes: file("[1,2]"), expected: "not a JSON object"),
        Case(
            label: "unknown dtype", bytes: file(#"{"w":{"dtype":"F33","shape":[2],"data_offsets":[0,8]}}"#),
            expected: "unknown dtype \"F33\"", item: "w"),
        Case(
            label: "missing shape", bytes: file(#"{"w":{"dtype":"F32","data_offsets":[0,8]}}"#),
            expected: "no \"shape\"", item: "w"),
        Case(
            label: "negative dimension", bytes: file(#"{"w":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}"#),
            expected: "non-negative integer", item: "w"),
        Case(
            label: "fractional dimension", bytes: file(#"{"w":{"dtype":"F32","shape":[2.0],"data_offsets":[0,8]}}"#),
            expected: "non-negative integer", item: "w"),
        Case(
            label: "overflowing shape",
            bytes: file(#"{"w":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]}}"#),
            expected: "overflow", item: "w"),
        Case(
            label: "offsets reversed", bytes: file(#"{"w":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}}"#),
            expected: "data_offsets", item: "w"),
        Case(
            label: "size mismatch", bytes: file(#"{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#),
            expected: "needs 12", item: "w"),
        Case(
            label: "offsets outside the data", bytes: file(#"{"w":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}}"#),
            expected: "gap", item: "w"),
        Case(
            label: "offsets past the end", bytes: file(#"{"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}"#),
            expected: "past the 8-byte data section", item: "w"),
        Case(
            label: "overlapping tensors",
            bytes: file(
                #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#
            ),
            expected: "overlaps", item: "b"),
        Case(
            label: "hole between tensors",
            bytes: file(
                #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"U8","shape":[2],"data_offsets":[6,8]}}"#
            ),
            expected: "gap", item: "b"),
        Case(
            label: "duplicate tensor name",
            bytes: file(
                #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#
            ),
            expected: "appears twice", item: "a"),
        Case(
            label: "metadata not strings",
            bytes: file(#"{"__metadata__":{"n":1},"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#),
            expected: "not a string", item: "__metadata__.n"),
        Case(label: "trailing garbage after JSON", bytes: file(valid + "x"), expected: "not valid JSON"),
        Case(
            label: "deeply nested JSON", bytes: file(String(repeating: "[", count: 100_000)), expected: "nesting deeper"
        ),
        Case(label: "lone surrogate escape", bytes: file(#"{"\ud800":1}"#), expected: "surrogate"),
    ]

    @Test("malformed files throw a ModelIOError naming the file and tensor", arguments: cases)
    func rejects(_ testCase: Case) throws {
        let directory = try SafetensorsTestFiles.makeDirectory()
        defer { SafetensorsTestFiles.remove(directory) }
        let path = try SafetensorsTestFiles.write(testCase.bytes, named: "bad.safetensors", in: directory)
        let error = #expect(throws: ModelIOError.self) { try SafetensorsFile(path: path) }
        #expect(error?.path == path)
        #expect(error?.message.contains(testCase.expected) == true, "\(error?.description ?? "no error")")
        if let item = testCase.item { #expect(error?.item == item) }
    }

    @Test("a known but non-float dtype opens, and reading it names tensor and dtype")
    func nonFloatDType() throws {
        let directory = try SafetensorsTestFiles.makeDirectory()
        defer { SafetensorsTestFiles.remove(directory) }
        let path = try SafetensorsTestFiles.write(
            Self.file(#"{"ids":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}}"#),
            named: "i.safetensors", in: directory)
        let file = try SafetensorsFile(path: path)
        let error = #expect(throws: ModelIOError.self) { try file.tensor("ids") }
        #expect(error?.item == "ids" && error?.message.contains("I64") == true)
    }

    @Test("a missing file is a ModelIOError")
    func missingFile() {
        #expect(throws: ModelIOError.self) { try SafetensorsFile(path: "/nonexistent/shears/x.safetensors") }
    }

    /// Writes a two-shard checkpoint and returns its directory.
    static func shardedDirectory() throws -> String {
        let directory = try SafetensorsTestFiles.makeDirectory()
        let tensors = (0..<4).map { SafetensorsTestFiles.randomTensor("t\($0)", shape: [4], seed: UInt64($0)) }
        try SafetensorsWriter.writeCheckpoint(tensors, type: .f32, directory: directory, maxShardSize: 32)
        return directory
    }

    @Test("a missing shard is named")
    func missingShard() throws {
        let directory = try Self.shardedDirectory()
        defer { SafetensorsTestFiles.remove(directory) }
        try FileManager.default.removeItem(atPath: directory + "/" + SafetensorsWriter.shardFileName(2, of: 2))
        let error = #expect(throws: ModelIOError.self) { try SafetensorsCheckpoint(directory: directory) }
        #expect(error?.message.contains("model-00002-of-00002.safetensors") == true)
        #expect(error?.item == "t2")
    }

    @Test("a tensor listed for a shard that lacks it is named")
    func wrongShard() throws {
        let directory = try Self.shardedDirectory()
        defer { SafetensorsTestFiles.remove(directory) }
        let indexPath = directory + "/" + SafetensorsCheckpoint.indexFileName
        let index = try String(contentsOfFile: indexPath, encoding: .utf8)
            .replacingOccurrences(
                of: "\"t3\": \"model-00002-of-00002.safetensors\"", with: "\"t3\": \"model-00001-of-00002.safetensors\""
            )
        try index.write(toFile: indexPath, atomically: true, encoding: .utf8)
        let error = #expect(throws: ModelIOError.self) { try SafetensorsCheckpoint(directory: directory) }
        #expect(error?.item == "t3")
        #expect(error?.message.contains("does not have it") == true, "\(error?.description ?? "")")
    }

    @Test("a shard path escaping the directory is refused")
    func shardPathTraversal() throws {
        let directory = try SafetensorsTestFiles.makeDirectory()
        defer { SafetensorsTestFiles.remove(directory) }
        _ = try SafetensorsTestFiles.write(
            Array(#"{"weight_map":{"w":"../x.safetensors"}}"#.utf8),
            named: SafetensorsCheckpoint.indexFileName, in: directory)
        let error = #expect(throws: ModelIOError.self) { try SafetensorsCheckpoint(directory: directory) }
        #expect(error?.item == "w")
    }

    @Test("seeded mutations of a valid file either read or throw ModelIOError, never trap")
    func mutationFuzz() throws {
        let directory = try SafetensorsTestFiles.makeDirectory()
        defer { SafetensorsTestFiles.remove(directory) }
        let tensors = [
            SafetensorsTestFiles.randomTensor("a.weight", shape: [3, 2], seed: 1),
            SafetensorsTestFiles.randomTensor("b", shape: [2], seed: 2),
        ]
        let validPath = directory + "/valid.safetensors"
        try SafetensorsWriter.write(tensors, type: .bf16, metadata: ["format": "pt"], to: validPath)
        let valid = Array(try Data(contentsOf: URL(fileURLWithPath: validPath)))
        var rng = SplitMix64(seed: 2024)
        var accepted = 0, rejected = 0
        let interesting: [UInt8] = Array("{}[]\",:0123456789-.eE ".utf8) + [0, 0xFF, 0x80]
        for round in 0..<3000 {
            var bytes = valid
            for _ in 0..<(1 + Int(rng.next() % 4)) {
                let position = Int(rng.next() % UInt64(bytes.count))
                switch rng.next() % 5 {
                case 0: bytes[position] = UInt8(truncatingIfNeeded: rng.next())
                case 1: bytes[position] = interesting[Int(rng.next() % UInt64(interesting.count))]
                case 2: bytes.removeSubrange(position..<min(bytes.count, position + 1 + Int(rng.next() % 8)))
                case 3: bytes.insert(interesting[Int(rng.next() % UInt64(interesting.count))], at: position)
                default: bytes = Array(bytes.prefix(position))
                }
                if bytes.isEmpty { break }
            }
            let path = try SafetensorsTestFiles.write(bytes, named: "m\(round % 4).safetensors", in: directory)
            do {
                let file = try SafetensorsFile(path: path)
                for name in file.tensorNames where file.info(name)?.dtype != nil { _ = try file.tensor(name) }
                accepted += 1
            } catch {
                #expect(error.path == path)
                rejected += 1
            }
        }
        #expect(accepted + rejected == 3000)
        #expect(rejected > 2000)
    }
}
