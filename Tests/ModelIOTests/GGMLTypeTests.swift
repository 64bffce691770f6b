import Testing
import ModelIO

@Suite("GGML types")
struct GGMLTypeTests {
    @Test("block layouts match ggml's")
    func layouts() {
        #expect(GGMLType.q4_1.blockSize == 32 && GGMLType.q4_1.bytesPerBlock == 20)
        #expect(GGMLType.q8_0.bytesPerBlock == 34)
        #expect(GGMLType.q6_K.blockSize == 256 && GGMLType.q6_K.bytesPerBlock == 210)
    }
}
