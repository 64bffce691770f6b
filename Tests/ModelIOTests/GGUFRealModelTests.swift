import Foundation
import ModelIO
import TestSupport
import Testing

@Suite("GGUF real model (SmolLM2-135M Q4_1)", .serialized, .enabled(if: ReferenceData.hasModel))
struct GGUFRealModelTests {
    let file: GGUFFile

    init() throws { file = try GGUFFile(path: ReferenceData.modelPath) }

    @Test("header, metadata and tensor table")
    func header() throws {
        #expect(file.version == 3)
        #expect(file.alignment == 32)
        #expect(file.metadata["general.architecture"]?.string == "llama")
        #expect(file.metadata["llama.block_count"]?.int == 30)
        #expect(file.metadata["llama.embedding_length"]?.int == 576)
        #expect(file.metadata["llama.feed_forward_length"]?.int == 1536)
        #expect(file.metadata["llama.attention.head_count"]?.int == 9)
        #expect(file.metadata["llama.attention.head_count_kv"]?.int == 3)
        #expect(file.metadata["llama.rope.freq_base"]?.double == 100000)
        #expect(file.metadata["tokenizer.ggml.pre"]?.string == "smollm")
        #expect(file.metadata["tokenizer.ggml.tokens"]?.array?.count == 49152)
        #expect((file.metadata["tokenizer.ggml.merges"]?.array?.count ?? 0) > 40000)
        #expect(file.tensors.count == 30 * 9 + 2)
        let embedding = try #require(file.tensorInfo(named: "token_embd.weight"))
        #expect(embedding.shape == [49152, 576] && embedding.type == .q8_0)
        let query = try #require(file.tensorInfo(named: "blk.0.attn_q.weight"))
        #expect(query.shape == [576, 576] && query.type == .q4_1)
        #expect(file.tensorInfo(named: "output_norm.weight")?.type == .f32)
        #expect(file.tensorInfo(named: "no.such.tensor") == nil)
        let last = file.tensors.max { $0.offset < $1.offset }!
        #expect(file.dataOffset + last.offset + last.byteCount == 98_362_432)
    }

    @Test("every tensor dequantizes to finite values, fast")
    func dequantizeAll() throws {
        let clock = ContinuousClock()
        var tensors: [Tensor] = []
        let elapsed = try clock.measure { tensors = try file.loadAllTensors() }
        print(
            "SmolLM2 Q4_1: dequantized \(tensors.count) tensors, \(tensors.reduce(0) { $0 + $1.count }) elements in \(elapsed)"
        )
        #expect(tensors.count == 272)
        #expect(tensors.reduce(0) { $0 + $1.count } == 134_515_008)
        for tensor in tensors {
            let finite = tensor.storage.buffer.allSatisfy { $0.isFinite }
            #expect(finite, "\(tensor.name) has non-finite values")
        }
        #expect(elapsed < .seconds(5), "dequantization regressed badly")
        // A value decoded by hand from the file's first Q4_1 block of blk.0.attn_q.weight.
        let info = file.tensorInfo(named: "blk.0.attn_q.weight")!
        let raw = file.rawData(of: info)
        let d = Float(Float16(bitPattern: raw.loadUnaligned(fromByteOffset: 0, as: UInt16.self)))
        let m = Float(Float16(bitPattern: raw.loadUnaligned(fromByteOffset: 2, as: UInt16.self)))
        let query = try file.loadTensor(info)
        #expect(query.storage.buffer[0] == Float(raw[4] & 0x0F) * d + m)
        #expect(query.storage.buffer[16] == Float(raw[4] >> 4) * d + m)
        #expect(query.sourceType == .q4_1)
    }

    @Test("F32 round trip of the whole model is bit-identical")
    func f32RoundTrip() throws {
        let directory = GGUFTemporaryDirectory()
        let tensors = try file.loadAllTensors()
        let output = directory.path("smollm2-f32.gguf")
        try GGUFWriter.write(
            metadata: file.metadata, tensors: tensors.map { .init(tensor: $0, type: .f32) }, to: output)
        let copy = try GGUFFile(path: output)
        #expect(copy.metadata == file.metadata)
        #expect(copy.tensors.map(\.name) == file.tensors.map(\.name))
        for (original, info) in zip(tensors, copy.tensors) {
            let reread = try copy.loadTensor(info)
            #expect(reread.shape == original.shape)
            #expect(
                memcmp(reread.storage.buffer.baseAddress!, original.storage.buffer.baseAddress!, original.count * 4)
                    == 0,
                "\(original.name) differs after the round trip")
        }
    }

    @Test(
        "the gguf Python package agrees on metadata, shapes and every dequantized value",
        .enabled(if: GGUFCrosscheck.isAvailable))
    func pythonCrosscheck() throws {
        let directory = GGUFTemporaryDirectory()
        let expected: [String: Any] = [
            "metadata": file.metadata.map { GGUFCrosscheck.describe(key: $0.key, value: $0.value) },
            "tensors": try file.tensors.map {
                GGUFCrosscheck.describe(try file.loadTensor($0), type: $0.type, allBits: false)
            },
        ]
        let result = try GGUFCrosscheck.check(file: file.path, expected: expected, in: directory)
        #expect(result.status == 0, "\(result.stderr)")
    }
}
