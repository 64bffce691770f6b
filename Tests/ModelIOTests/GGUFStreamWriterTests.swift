import Foundation
import ModelIO
import TestSupport
import Testing

/// `GGUFStreamWriter`: tensors appended piece by piece give the same bytes as `GGUFWriter` writing
/// them whole, and a stream cut short or fed wrong data leaves nothing behind.
@Suite("GGUF stream writer")
struct GGUFStreamWriterTests {
    static let tensors = TinyModel.tensors(TinyModel.config, seed: 3)
    static let metadata = TinyModel.metadata(TinyModel.config, TinyModel.vocabulary(size: TinyModel.config.vocabSize))

    static func slots(_ type: GGMLType) -> [GGUFStreamWriter.Slot] {
        tensors.map { .init(name: $0.name, shape: $0.shape, type: ModelWriter.storedType(of: $0, requested: type)) }
    }

    @Test(
        "rows appended in pieces give GGUFWriter's bytes, and read back", arguments: [GGMLType.f32, .f16, .q8_0, .q4_0])
    func matchesWholeWriter(type: GGMLType) throws {
        let directory = try TemporaryDirectory()
        let whole = directory.path("whole.gguf"), streamed = directory.path("streamed.gguf")
        try GGUFWriter.write(
            metadata: Self.metadata,
            tensors: Self.tensors.map { .init(tensor: $0, type: ModelWriter.storedType(of: $0, requested: type)) },
            to: whole)
        let writer = try GGUFStreamWriter(path: streamed, metadata: Self.metadata, tensors: Self.slots(type))
        for tensor in Self.tensors {
            #expect(writer.nextTensor?.name == tensor.name)
            // Three rows at a time, the last piece shorter.
            let buffer = UnsafeBufferPointer(tensor.storage.buffer), row = tensor.shape.last!
            var start = 0
            while start < buffer.count {
                let end = min(start + 3 * row, buffer.count)
                try writer.append(UnsafeBufferPointer(rebasing: buffer[start..<end]))
                start = end
            }
        }
        #expect(writer.nextTensor == nil)
        try writer.commit()
        #expect(try Data(contentsOf: URL(fileURLWithPath: streamed)) == Data(contentsOf: URL(fileURLWithPath: whole)))
        let model = try ModelLoader.load(path: streamed)
        #expect(model.tensors.map(\.name) == Self.tensors.map(\.name))
    }

    @Test("a partial row, an overrun, appending after the end and an incomplete commit are refused; nothing is left")
    func misuse() throws {
        let directory = try TemporaryDirectory()
        let path = directory.path("out.gguf")
        let slots = [GGUFStreamWriter.Slot(name: "a", shape: [2, 32], type: .q8_0)]
        let row = [Float](repeating: 0.5, count: 32)
        do {
            let writer = try GGUFStreamWriter(path: path, metadata: GGUFMetadata([]), tensors: slots)
            #expect(throws: ModelIOError.self) {
                try row.withUnsafeBufferPointer { try writer.append(.init(rebasing: $0[0..<31])) }
            }
            try row.withUnsafeBufferPointer { try writer.append($0) }
            let error = #expect(throws: ModelIOError.self) { try writer.commit() }
            #expect(error?.item == "a" && error?.message.contains("only 32 of its 64 elements") == true)
            let three = row + row + row
            #expect(throws: ModelIOError.self) {
                try three.withUnsafeBufferPointer { try writer.append(.init(rebasing: $0[0..<64])) }
            }
            var bad = row
            bad[7] = .nan
            let nan = #expect(throws: ModelIOError.self) { try bad.withUnsafeBufferPointer { try writer.append($0) } }
            #expect(nan?.message.contains("element 39 is nan") == true, "\(String(describing: nan))")
            try row.withUnsafeBufferPointer { try writer.append($0) }
            #expect(throws: ModelIOError.self) { try row.withUnsafeBufferPointer { try writer.append($0) } }
        }
        // The writer above was dropped without a commit: neither the file nor a temporary remains.
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.url.path).isEmpty)
    }

    @Test("bad tensor tables are refused before a file is created")
    func badTable() throws {
        let directory = try TemporaryDirectory()
        let path = directory.path("out.gguf")
        let cases: [[GGUFStreamWriter.Slot]] = [
            [.init(name: "a", shape: [2, 32], type: .f32), .init(name: "a", shape: [32], type: .f32)],
            [.init(name: "", shape: [32], type: .f32)],
            [.init(name: "a", shape: [2, 30], type: .q8_0)],
            [.init(name: "a", shape: [0, 32], type: .f32)],
            [.init(name: "a", shape: [32], type: .q4_1)],
        ]
        for slots in cases {
            #expect(throws: ModelIOError.self) {
                _ = try GGUFStreamWriter(path: path, metadata: GGUFMetadata([]), tensors: slots)
            }
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.url.path).isEmpty)
    }
}
