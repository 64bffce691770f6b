import Foundation
import ModelIO
import TestSupport

/// A fresh directory under the system temporary directory, removed with its contents on deinit.
final class GGUFTemporaryDirectory {
    let url: URL

    init() {
        url = URL(fileURLWithPath: NSTemporaryDirectory())
            .appendingPathComponent("shears-gguf-tests-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: url) }

    /// A path inside the directory.
    func path(_ name: String) -> String { url.appendingPathComponent(name).path }

    /// Writes `bytes` to a file called `name` and returns its path.
    func write(_ bytes: [UInt8], name: String) -> String {
        let path = path(name)
        // Plain stdio rather than Data.write, which syncs to disk and makes fuzzing slow.
        let stream = fopen(path, "wb")!
        precondition(fwrite(bytes, 1, bytes.count, stream) == bytes.count, "cannot write \(path)")
        fclose(stream)
        return path
    }

    /// Names of the files in the directory.
    var fileNames: [String] { (try? FileManager.default.contentsOfDirectory(atPath: url.path)) ?? [] }
}

/// Writes `model` as an F32 GGUF file at `path` that claims the architecture `architecture`: the
/// keys of the architecture its config implies are renamed, the tensors are left as they are (a
/// reader must then check the tensors against the claimed descriptor).
func writeGGUF(_ model: Model, claiming architecture: String, to path: String) throws {
    var metadata = GGUFArchitectureKeys.apply(model.config, to: model.metadata)
    let prefix = metadata["general.architecture"]!.string! + "."
    var renamed: [(String, GGUFValue)] = []
    for (key, value) in metadata {
        renamed.append((key.hasPrefix(prefix) ? architecture + "." + key.dropFirst(prefix.count) : key, value))
    }
    metadata = GGUFMetadata(renamed)
    metadata["general.architecture"] = .string(architecture)
    try GGUFWriter.write(
        metadata: metadata, tensors: model.tensors.map { GGUFWriter.Entry(tensor: $0, type: .f32) }, to: path)
}

/// Little-endian byte assembly for hand-made (often deliberately broken) GGUF files.
struct GGUFBytes {
    var bytes: [UInt8] = []

    mutating func integer<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    mutating func string(_ text: String) {
        integer(UInt64(text.utf8.count))
        bytes.append(contentsOf: text.utf8)
    }

    mutating func pad(to alignment: Int) {
        while bytes.count % alignment != 0 { bytes.append(0) }
    }
}

/// The parts of a GGUF file, each editable, so that a test can break exactly one thing.
struct RawGGUF {
    var magic: [UInt8] = Array("GGUF".utf8)
    var version: UInt32 = 3
    /// Overrides the tensor count written in the header (defaults to `tensorInfos.count`).
    var tensorCount: UInt64?
    /// Overrides the metadata key count written in the header (defaults to `entries.count`).
    var entryCount: UInt64?
    /// Encoded metadata entries (see `entry`).
    var entries: [[UInt8]] = []
    /// Encoded tensor-table entries (see `tensorInfo`).
    var tensorInfos: [[UInt8]] = []
    /// Padding alignment before the data section.
    var alignment = 32
    /// The data section.
    var data: [UInt8] = []

    /// A metadata entry with an explicit type tag and raw value bytes.
    static func entry(_ key: String, type: UInt32, _ value: (inout GGUFBytes) -> Void) -> [UInt8] {
        var out = GGUFBytes()
        out.string(key)
        out.integer(type)
        value(&out)
        return out.bytes
    }

    /// A string metadata entry.
    static func stringEntry(_ key: String, _ value: String) -> [UInt8] {
        entry(key, type: GGUFValueType.string.rawValue) { $0.string(value) }
    }

    /// A tensor-table entry.
    static func tensorInfo(_ name: String, dimensions: [UInt64], type: UInt32, offset: UInt64) -> [UInt8] {
        var out = GGUFBytes()
        out.string(name)
        out.integer(UInt32(dimensions.count))
        for dimension in dimensions { out.integer(dimension) }
        out.integer(type)
        out.integer(offset)
        return out.bytes
    }

    /// A small valid file: two metadata keys, an F32 tensor `a` [8] and a Q8_0 tensor `b` [2, 32].
    static func valid() -> RawGGUF {
        var file = RawGGUF()
        file.entries = [
            stringEntry("general.architecture", "llama"),
            entry("llama.block_count", type: GGUFValueType.uint32.rawValue) { $0.integer(UInt32(1)) },
        ]
        file.tensorInfos = [
            tensorInfo("a", dimensions: [8], type: GGMLType.f32.rawValue, offset: 0),
            tensorInfo("b", dimensions: [32, 2], type: GGMLType.q8_0.rawValue, offset: 32),
        ]
        var data = GGUFBytes()
        for i in 0..<8 { data.integer(Float(i).bitPattern) }
        for row in 0..<2 {
            data.integer(Float16(0.5).bitPattern)
            for j in 0..<32 { data.integer(Int8(j - 16 + row)) }
        }
        file.data = data.bytes
        return file
    }

    /// The assembled file.
    var bytes: [UInt8] {
        var out = GGUFBytes()
        out.bytes.append(contentsOf: magic)
        out.integer(version)
        out.integer(tensorCount ?? UInt64(tensorInfos.count))
        out.integer(entryCount ?? UInt64(entries.count))
        for entry in entries { out.bytes.append(contentsOf: entry) }
        for info in tensorInfos { out.bytes.append(contentsOf: info) }
        out.pad(to: alignment)
        out.bytes.append(contentsOf: data)
        return out.bytes
    }
}

/// Runs `Scripts/gguf_crosscheck.py` (the PyPI `gguf` package's view of a file).
enum GGUFCrosscheck {
    /// Whether `python3 -c "import gguf, numpy"` works (or the reference is required, so the test runs and fails loudly).
    static let isAvailable: Bool = ReferenceData.required || PythonRunner.canImport(["gguf", "numpy"])

    static var script: String { ReferenceData.packageRoot.path + "/Scripts/gguf_crosscheck.py" }

    /// Checks `file` against `expected` (the JSON shape the script documents); returns the script's result.
    static func check(
        file: String, expected: [String: Any], in directory: GGUFTemporaryDirectory
    ) throws -> ProcessOutcome {
        let json = directory.path("expected-\(UUID().uuidString).json")
        try JSONSerialization.data(withJSONObject: expected).write(to: URL(fileURLWithPath: json))
        return try PythonRunner.run([script, file, "--expect-json", json])
    }

    /// Our view of a tensor for the script: name, type, shape, and a position-weighted checksum
    /// (or all bit patterns when `allBits`).
    static func describe(_ tensor: Tensor, type: GGMLType, allBits: Bool) -> [String: Any] {
        var entry: [String: Any] = ["name": tensor.name, "type": type.name, "shape": tensor.shape]
        if allBits {
            entry["bits"] = tensor.storage.buffer.map { Int($0.bitPattern) }
        } else {
            entry["checksum"] = String(checksum(tensor.storage.buffer))
        }
        return entry
    }

    /// sum((i + 1) · bits[i]) mod 2^64, as the script computes it.
    static func checksum(_ values: UnsafeMutableBufferPointer<Float>) -> UInt64 {
        var sum: UInt64 = 0
        for (i, value) in values.enumerated() { sum &+= UInt64(i + 1) &* UInt64(value.bitPattern) }
        return sum
    }

    /// Our view of a metadata value for the script: type name and JSON value.
    static func describe(key: String, value: GGUFValue) -> [String: Any] {
        var entry: [String: Any] = ["key": key, "type": "\(value.type)"]
        if case .array(let elementType, let elements) = value {
            entry["element_type"] = "\(elementType)"
            entry["value"] = elements.map(jsonValue)
        } else {
            entry["value"] = jsonValue(value)
        }
        return entry
    }

    private static func jsonValue(_ value: GGUFValue) -> Any {
        switch value {
        case .float32(let v): Double(v)
        case .float64(let v): v
        case .bool(let v): v
        case .string(let v): v
        case .uint64(let v): NSNumber(value: v)
        case .array(_, let elements): elements.map(jsonValue)
        default: value.int!
        }
    }
}
