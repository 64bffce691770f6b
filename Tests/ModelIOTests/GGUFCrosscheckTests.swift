import Foundation
import ModelIO
import TestSupport
import Testing

/// Cross-checks our reader, writer and dequantizers against PyPI's `gguf` package through
/// `Scripts/gguf_crosscheck.py`.
@Suite("GGUF cross-check with the Python gguf package", .enabled(if: GGUFCrosscheck.isAvailable))
struct GGUFCrosscheckTests {
    /// Every value type the Python reader handles (it cannot read nested arrays; JSON cannot carry infinity).
    static var metadata: GGUFMetadata {
        GGUFMetadata(
            GGUFRoundTripTests.everyValueType.entries.filter { $0.key != "nested" && $0.key != "f32.inf" }.map {
                ($0.key, $0.value)
            })
    }

    static func expected(_ file: GGUFFile) throws -> [String: Any] {
        [
            "metadata": file.metadata.map { GGUFCrosscheck.describe(key: $0.key, value: $0.value) },
            "tensors": try file.tensors.map {
                GGUFCrosscheck.describe(try file.loadTensor($0), type: $0.type, allBits: true)
            },
        ]
    }

    @Test("a file we write (F32, F16, BF16, Q8_0) reads the same in Python, value for value")
    func writtenFile() throws {
        let directory = GGUFTemporaryDirectory()
        var rng = SplitMix64(seed: 5)
        let entries: [GGUFWriter.Entry] = [GGMLType.f32, .f16, .bf16, .q8_0].enumerated().map { index, type in
            let shape = [3, 2, 64]
            let values = (0..<384).map { _ in (rng.nextUnitFloat() * 2 - 1) * 4 }
            return .init(
                tensor: Tensor(
                    name: "tensor.\(type.name)", shape: index == 0 ? [384] : shape, storage: TensorStorage(values)),
                type: type)
        }
        let path = directory.path("written.gguf")
        try GGUFWriter.write(metadata: Self.metadata, tensors: entries, to: path, alignment: 64)
        let file = try GGUFFile(path: path)
        let result = try GGUFCrosscheck.check(file: path, expected: try Self.expected(file), in: directory)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(
            result.stderr.contains("crosscheck OK: \(Self.metadata.count + 1) keys, 4 tensors agree"),
            "\(result.stderr)")
    }

    @Test("random blocks of every dequantizable type decode exactly as gguf.quants.dequantize does")
    func everyQuantType() throws {
        let directory = GGUFTemporaryDirectory()
        var rng = SplitMix64(seed: 11)
        var raw = RawGGUF()
        raw.entries = [RawGGUF.stringEntry("general.architecture", "llama")]
        for type in Dequantization.supportedTypes {
            let rows = 3, rowLength = type.blockSize == 1 ? 64 : 2 * type.blockSize
            let bytes = GGUFQuantBlocks.random(type, blocks: rows * rowLength / type.blockSize, rng: &rng)
            raw.tensorInfos.append(
                RawGGUF.tensorInfo(
                    "random.\(type.name)", dimensions: [UInt64(rowLength), UInt64(rows)],
                    type: type.rawValue, offset: UInt64(raw.data.count)))
            raw.data += bytes
            while raw.data.count % 32 != 0 { raw.data.append(0) }
        }
        let path = directory.write(raw.bytes, name: "random-blocks.gguf")
        let file = try GGUFFile(path: path)
        let result = try GGUFCrosscheck.check(file: path, expected: try Self.expected(file), in: directory)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains("\(Dequantization.supportedTypes.count) tensors agree"), "\(result.stderr)")
    }

    @Test("our F16, BF16 and Q8_0 encodings are byte-identical to gguf.quants.quantize")
    func encodings() throws {
        let directory = GGUFTemporaryDirectory()
        var rng = SplitMix64(seed: 17)
        // Finite values at several scales, an all-zero block, and exact half-way points for Q8_0 rounding.
        var values = (0..<4096).map { i in (rng.nextUnitFloat() * 2 - 1) * [1e-6, 0.01, 1, 300][i % 4] }
        values.replaceSubrange(0..<32, with: repeatElement(0, count: 32))
        values.replaceSubrange(32..<64, with: (0..<32).map { Float($0) - 15.5 + ($0 == 31 ? 111.5 : 0) })
        // Half-precision edge cases: overflow, ties, subnormals, infinities, NaN (F16/BF16 only).
        let special: [Float] =
            [
                65504, 65519, 65520, 1e6, -1e6, 6.1e-5, 3e-8, 2.9802322e-8, .leastNonzeroMagnitude, .infinity,
                -.infinity, .nan,
                1.00048828125, 1.00146484375, -0.0, 0,
            ] + (0..<48).map { _ in Float(bitPattern: UInt32(truncatingIfNeeded: rng.next()) & 0x7F7F_FFFF) }
        let source = Tensor(name: "source", shape: [64, 64], storage: TensorStorage(values))
        let edges = Tensor(name: "edges", shape: [64], storage: TensorStorage(special))
        var entries: [GGUFWriter.Entry] = [.init(tensor: source, type: .f32), .init(tensor: edges, type: .f32)]
        var pairs: [String] = []
        for type in [GGMLType.f16, .bf16, .q8_0] {
            var copy = source
            copy.name = "source.\(type.name)"
            entries.append(.init(tensor: copy, type: type))
            pairs.append("source:\(copy.name)")
            if type != .q8_0 {
                var edgeCopy = edges
                edgeCopy.name = "edges.\(type.name)"
                entries.append(.init(tensor: edgeCopy, type: type))
                pairs.append("edges:\(edgeCopy.name)")
            }
        }
        let path = directory.path("encodings.gguf")
        try GGUFWriter.write(metadata: GGUFMetadata(), tensors: entries, to: path)
        let result = try PythonRunner.run([GGUFCrosscheck.script, path] + pairs.flatMap { ["--requantized", $0] })
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains("requantization OK: 5 tensors"), "\(result.stderr)")
        // Control: F16 bytes are not what the BF16-rounded values encode to.
        let control = try PythonRunner.run([GGUFCrosscheck.script, path, "--requantized", "source.bf16:source.f16"])
        #expect(
            control.status == 1
                && control.stderr.contains("source.f16: stored bytes differ from gguf's encoding of source.bf16"),
            "\(control.stderr)")
    }

    @Test("the cross-check notices a single differing value, shape or key")
    func detectsDifferences() throws {
        let directory = GGUFTemporaryDirectory()
        let path = directory.write(RawGGUF.valid().bytes, name: "valid.gguf")
        let file = try GGUFFile(path: path)
        let good = try Self.expected(file)
        #expect(try GGUFCrosscheck.check(file: path, expected: good, in: directory).status == 0)

        var tensors = good["tensors"] as! [[String: Any]]
        var bits = tensors[1]["bits"] as! [Int]
        bits[40] ^= 1
        tensors[1]["bits"] = bits
        var changedValue = good
        changedValue["tensors"] = tensors
        let valueResult = try GGUFCrosscheck.check(file: path, expected: changedValue, in: directory)
        #expect(
            valueResult.status == 1
                && valueResult.stderr.contains("b: dequantized values differ (first at element 40)"),
            "\(valueResult.stderr)")

        var shapes = good["tensors"] as! [[String: Any]]
        shapes[1]["shape"] = [32, 2]
        var changedShape = good
        changedShape["tensors"] = shapes
        let shapeResult = try GGUFCrosscheck.check(file: path, expected: changedShape, in: directory)
        #expect(
            shapeResult.status == 1 && shapeResult.stderr.contains("b: shape [2, 32], expected [32, 2]"),
            "\(shapeResult.stderr)")

        var metadata = good["metadata"] as! [[String: Any]]
        metadata[1]["value"] = 2
        var changedKey = good
        changedKey["metadata"] = metadata
        let keyResult = try GGUFCrosscheck.check(file: path, expected: changedKey, in: directory)
        #expect(
            keyResult.status == 1 && keyResult.stderr.contains("llama.block_count: value differs"),
            "\(keyResult.stderr)")
    }
}
