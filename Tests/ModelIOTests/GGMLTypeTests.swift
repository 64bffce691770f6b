import ModelIO
import Testing

@Suite("GGML types")
struct GGMLTypeTests {
    @Test("block layouts match ggml's")
    func layouts() {
        #expect(GGMLType.q4_1.blockSize == 32 && GGMLType.q4_1.bytesPerBlock == 20)
        #expect(GGMLType.q8_0.bytesPerBlock == 34)
        #expect(GGMLType.q6_K.blockSize == 256 && GGMLType.q6_K.bytesPerBlock == 210)
        // sizeof(block_*) in ggml-common.h for every type we dequantize.
        let expected: [(GGMLType, Int, Int)] = [
            (.f32, 1, 4), (.f16, 1, 2), (.bf16, 1, 2), (.q8_0, 32, 34), (.q4_0, 32, 18), (.q4_1, 32, 20),
            (.q5_0, 32, 22), (.q5_1, 32, 24), (.q4_K, 256, 144), (.q5_K, 256, 176), (.q6_K, 256, 210),
        ]
        #expect(expected.map { $0.0 } == Dequantization.supportedTypes)
        for (type, blockSize, bytes) in expected {
            #expect(type.blockSize == blockSize && type.bytesPerBlock == bytes, "\(type.name)")
        }
    }

    @Test("names are ggml's, and distinct")
    func names() {
        #expect(GGMLType.q4_K.name == "q4_K" && GGMLType.bf16.name == "bf16" && GGMLType.iq2_xxs.name == "iq2_xxs")
        #expect(Set(GGMLType.allCases.map(\.name)).count == GGMLType.allCases.count)
    }
}
