import Foundation
import ModelIO
import TestSupport
import Testing

@Suite("GGUF mutation fuzzing")
struct GGUFFuzzTests {
    /// Outcome counts of one fuzz run.
    struct Tally {
        var accepted = 0
        var refused = 0
        var refusedWhileLoading = 0
    }

    /// A small valid file with every metadata value type and tensors of every writable type, where
    /// its data section starts, and where the last tensor's data ends (the alignment padding after
    /// it holds no data).
    static func baseFile(
        in directory: GGUFTemporaryDirectory
    ) throws -> (
        bytes: [UInt8], dataOffset: Int, dataEnd: Int
    ) {
        var rng = SplitMix64(seed: 99)
        let tensors: [GGUFWriter.Entry] = [GGMLType.f32, .f16, .bf16, .q8_0].enumerated().map { index, type in
            let values = (0..<64).map { _ in rng.nextUnitFloat() - 0.5 }
            return .init(tensor: Tensor(name: "t\(index)", shape: [2, 32], storage: TensorStorage(values)), type: type)
        }
        let path = directory.path("base.gguf")
        try GGUFWriter.write(metadata: GGUFRoundTripTests.everyValueType, tensors: tensors, to: path)
        let file = try GGUFFile(path: path)
        let dataEnd = file.dataOffset + (file.tensors.map { $0.offset + $0.byteCount }.max() ?? 0)
        return (Array(try Data(contentsOf: URL(fileURLWithPath: path))), file.dataOffset, dataEnd)
    }

    /// Opens `bytes` as a file and, if that works, loads every tensor; any failure must be a
    /// `ModelIOError` naming the file (a trap would end the test process).
    static func exercise(_ bytes: [UInt8], in directory: GGUFTemporaryDirectory, tally: inout Tally) throws {
        // A fresh name each time: rewriting one file makes ext4 flush it to disk on close.
        let path = directory.write(bytes, name: "mutant-\(UUID().uuidString).gguf")
        defer { unlink(path) }
        let file: GGUFFile
        do {
            file = try GGUFFile(path: path)
        } catch {
            #expect(error.path == path && !error.message.isEmpty)
            tally.refused += 1
            return
        }
        do {
            for info in file.tensors {
                let tensor = try file.loadTensor(info)
                #expect(tensor.count == info.elementCount)
            }
            tally.accepted += 1
        } catch {
            #expect(error.path == path && error.item != nil)
            tally.refusedWhileLoading += 1
        }
    }

    @Test("truncation at every header byte, random bit flips and huge counts never trap")
    func mutations() throws {
        let directory = GGUFTemporaryDirectory()
        let (base, dataOffset, dataEnd) = try Self.baseFile(in: directory)
        var tally = Tally()
        var rng = SplitMix64(seed: 2024)

        // Every truncation point inside the header, metadata and tensor table, plus some in the
        // tensors' data (not in the padding after it, which a reader may do without).
        for length in 0..<dataOffset { try Self.exercise(Array(base.prefix(length)), in: directory, tally: &tally) }
        for _ in 0..<50 {
            try Self.exercise(
                Array(base.prefix(dataOffset + Int(rng.next() % UInt64(dataEnd - dataOffset)))), in: directory,
                tally: &tally)
        }
        #expect(tally.accepted == 0, "a truncated file was accepted")

        // Bit flips, mostly in the header where they matter.
        for _ in 0..<3000 {
            var mutant = base
            for _ in 0..<(1 + rng.next() % 4) {
                let limit = rng.next() % 4 == 0 ? base.count : dataOffset
                let position = Int(rng.next() % UInt64(limit))
                mutant[position] ^= UInt8(1) << UInt8(rng.next() % 8)
            }
            try Self.exercise(mutant, in: directory, tally: &tally)
        }

        // Huge or edge-case counts written over random (possibly unaligned) header positions.
        let edges: [UInt64] = [.max, 1 << 63, (1 << 63) - 1, 1 << 32, 0xFFFF_FFFF, 1 << 31, 0, 1, 1 << 40]
        for _ in 0..<3000 {
            var mutant = base
            let value = rng.next() % 3 == 0 ? rng.next() : edges[Int(rng.next() % UInt64(edges.count))]
            let width = rng.next() % 2 == 0 ? 8 : 4
            let position = Int(rng.next() % UInt64(dataOffset - width))
            withUnsafeBytes(of: value.littleEndian) {
                mutant.replaceSubrange(position..<(position + width), with: $0.prefix(width))
            }
            try Self.exercise(mutant, in: directory, tally: &tally)
        }

        print(
            "GGUF fuzz: \(tally.accepted) accepted, \(tally.refused) refused on open, \(tally.refusedWhileLoading) refused on load"
        )
        #expect(tally.refused > 3000)
        #expect(
            tally.accepted > 50, "mutations that leave the file valid (e.g. in string bytes or data) should still load")
    }
}
