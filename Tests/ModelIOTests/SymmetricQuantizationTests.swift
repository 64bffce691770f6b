import Foundation
import ModelIO
import TestSupport
import Testing

/// Q4_0 and Q5_0 output: ggml's reference encoders, exact zeros, and the default output type.
@Suite struct SymmetricQuantizationTests {
    /// Values at several scales with half of them pruned to zero, an all-zero block, a block whose
    /// largest magnitude appears with both signs, and a block of exact code boundaries.
    static func prunedValues(seed: UInt64) -> [Float] {
        var rng = SplitMix64(seed: seed)
        var values = (0..<4096).map { i -> Float in
            let v = (rng.nextUnitFloat() * 2 - 1) * [1e-6, 0.01, 1, 300][(i / 32) % 4]
            return rng.nextUnitFloat() < 0.5 ? 0 : v
        }
        values.replaceSubrange(0..<32, with: repeatElement(0, count: 32))
        values.replaceSubrange(32..<64, with: (0..<32).map { Float($0 - 16) / 2 })
        values[64] = -3
        values[65] = 3
        values.replaceSubrange(96..<128, with: (0..<32).map { Float($0 % 17) - 8 })
        return values
    }

    @Test(
        "Q4_0 and Q5_0 encodings are byte-identical to gguf.quants.quantize",
        .enabled(if: GGUFCrosscheck.isAvailable))
    func matchesGGUFPackage() throws {
        let directory = GGUFTemporaryDirectory()
        let source = Tensor(name: "source", shape: [64, 64], storage: TensorStorage(Self.prunedValues(seed: 3)))
        var entries: [GGUFWriter.Entry] = [.init(tensor: source, type: .f32)]
        for type in [GGMLType.q4_0, .q5_0] {
            var copy = source
            copy.name = "source.\(type.name)"
            entries.append(.init(tensor: copy, type: type))
        }
        let path = directory.path("symmetric.gguf")
        try GGUFWriter.write(metadata: GGUFMetadata(), tensors: entries, to: path)
        let result = try PythonRunner.run([
            GGUFCrosscheck.script, path, "--requantized", "source:source.q4_0", "--requantized", "source:source.q5_0",
        ])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains("requantization OK: 2 tensors"), "\(result.stderr)")
    }

    @Test(
        "every zero stays zero through Q4_0 and Q5_0; the error is half a step (a step at the clamped end)",
        arguments: [GGMLType.q4_0, .q5_0])
    func zerosSurvive(type: GGMLType) throws {
        let values = Self.prunedValues(seed: 11)
        var bytes = [UInt8](repeating: 0, count: Quantization.byteCount(elements: values.count, type: type))
        var decoded = [Float](repeating: 1, count: values.count)
        values.withUnsafeBufferPointer { source in
            bytes.withUnsafeMutableBytes { Quantization.quantize(source, type: type, into: $0) }
        }
        bytes.withUnsafeBytes { raw in
            decoded.withUnsafeMutableBufferPointer { Dequantization.dequantize(raw, type: type, into: $0) }
        }
        let levels: Float = type == .q4_0 ? 8 : 16
        for block in 0..<(values.count / 32) {
            let slice = values[(block * 32)..<(block * 32 + 32)]
            let step = (slice.map(abs).max() ?? 0) / levels
            // The scale is stored in half precision: its rounding error, times the largest code
            // magnitude, adds to the rounding error. That is half a step, except near −m (m the
            // weight of largest magnitude): the codes reach −levels·d = m but only (levels − 1)·d
            // on the other side, so a weight there may be off by a whole step.
            let scaleError = abs(Float(Float16(step)) - step) * levels
            let top = slice.first { abs($0) == slice.map(abs).max() } ?? 0
            for i in slice.indices {
                if values[i] == 0 { #expect(decoded[i] == 0, "element \(i)") }
                let clamped = top != 0 && values[i] * top < 0 && abs(values[i]) > (levels - 0.5) * step
                let bound = (clamped ? step : step * 0.5) * 1.0001 + scaleError
                #expect(abs(decoded[i] - values[i]) <= bound, "element \(i)")
            }
        }
        let zeros = values.filter { $0 == 0 }.count
        let surviving = values.withUnsafeBufferPointer { Quantization.zeroCount(afterStoring: $0, as: type) }
        #expect(surviving == decoded.filter { $0 == 0 }.count && surviving >= zeros)
    }

    @Test("the default output type keeps zeros and is no larger than the input's")
    func defaultType() throws {
        let model = try TinyModel.make()
        func retyped(_ type: GGMLType) -> Model {
            for tensor in model.tensors where tensor.shape.count == 2 {
                var copy = tensor
                copy.sourceType = type
                model.replace(copy)
            }
            return model
        }
        let cases: [(GGMLType, OutputType)] = [
            (.f32, .f32), (.f16, .f16), (.bf16, .bf16), (.q8_0, .q8_0), (.q4_0, .q4_0), (.q4_1, .q4_0),
            (.q5_0, .q5_0), (.q5_1, .q5_0), (.q4_K, .q4_0), (.q5_K, .q5_0), (.q6_K, .q5_0),
        ]
        for (input, output) in cases {
            #expect(OutputType.matchingInput(of: retyped(input), output: "x.gguf") == output, "\(input.name)")
            #expect(output.ggmlType.bytesPerBlock * input.blockSize <= input.bytesPerBlock * output.ggmlType.blockSize)
        }
        #expect(OutputType.matchingInput(of: retyped(.q4_1), output: "hf-directory") == .f16)
        #expect(OutputType.matchingInput(of: retyped(.bf16), output: "hf-directory") == .bf16)
    }
}
