import Foundation
import ModelIO
import TestSupport
import Testing

/// Streaming a safetensors file tensor by tensor: what the reader sees, and every misuse refused
/// without leaving a file behind.
@Suite struct SafetensorsStreamWriterTests {
    static let layout: [(name: String, shape: [Int])] = [("z.first", [2, 3]), ("a.second", [4]), ("m.third", [1, 2])]

    static func values(_ index: Int, _ count: Int) -> [Float] { (0..<count).map { Float(index * 100 + $0) + 0.5 } }

    @Test("tensors appended in layout order read back exactly, whatever their names' order")
    func roundTrip() throws {
        let directory = try TemporaryDirectory()
        let path = directory.path("stream.safetensors")
        let writer = try SafetensorsStreamWriter(path: path, layout: Self.layout, metadata: ["loss": "1.5"])
        #expect(!FileManager.default.fileExists(atPath: path))
        for (index, entry) in Self.layout.enumerated() {
            let data = Self.values(index, entry.shape.reduce(1, *))
            try data.withUnsafeBufferPointer { try writer.append(entry.name, $0) }
        }
        try writer.commit()
        let file = try SafetensorsFile(path: path)
        #expect(file.metadata == ["loss": "1.5"])
        #expect(Set(file.tensorNames) == Set(Self.layout.map(\.name)))
        for (index, entry) in Self.layout.enumerated() {
            let tensor = try file.tensor(entry.name)
            #expect(tensor.shape == entry.shape)
            #expect(tensor.storage.array == Self.values(index, entry.shape.reduce(1, *)))
        }
    }

    @Test("a wrong name, a wrong count, a missing tensor or an existing path is refused; nothing is left")
    func misuse() throws {
        let directory = try TemporaryDirectory()
        let path = directory.path("bad.safetensors")
        do {
            let writer = try SafetensorsStreamWriter(path: path, layout: Self.layout)
            let six = Self.values(0, 6)
            #expect(throws: ModelIOError.self) { try six.withUnsafeBufferPointer { try writer.append("a.second", $0) } }
            #expect(throws: ModelIOError.self) {
                try Array(six.prefix(5)).withUnsafeBufferPointer { try writer.append("z.first", $0) }
            }
            try six.withUnsafeBufferPointer { try writer.append("z.first", $0) }
            #expect(throws: ModelIOError.self) { try writer.commit() }
            #expect(!FileManager.default.fileExists(atPath: path))
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.url.path).isEmpty)
        _ = FileManager.default.createFile(atPath: path, contents: Data([1]))
        #expect(throws: ModelIOError.self) { try SafetensorsStreamWriter(path: path, layout: Self.layout) }
        #expect(throws: ModelIOError.self) {
            try SafetensorsStreamWriter(path: directory.path("twice.safetensors"), layout: [("a", [1]), ("a", [2])])
        }
    }
}
