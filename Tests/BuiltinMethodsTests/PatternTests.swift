import BuiltinMethods
import PruningEngine
import Testing

@Suite struct PatternTests {
    @Test("N:M strings parse; bad ones are refused with a clear message")
    func parsing() throws {
        #expect(try SparsityPattern(parsing: "2:4") == .nm(keep: 2, group: 4))
        #expect(try SparsityPattern(parsing: "unstructured") == .unstructured)
        #expect(SparsityPattern.nm(keep: 2, group: 4).prunedPerGroup == 2)
        #expect(SparsityPattern.nm(keep: 1, group: 4).impliedSparsity == 0.75)
        #expect(throws: PruneError.self) { try GroupSelector(.nm(keep: 5, group: 4)) }
        #expect(throws: PruneError.self) { try PruneMethod.wanda(sparsity: nil, pattern: .nm(keep: 4, group: 4)) }
        #expect(throws: PruneError.self) { try SparseGPTReconstructor(maskSource: .adaptive(.nm(keep: 0, group: 4))) }
        for bad in ["4:4", "5:4", "0:4", "2-4", "x:4", "", "2:4:8", "2:128"] {
            #expect(throws: PruneError.self) { try SparsityPattern(parsing: bad) }
        }
    }

    @Test("globs match whole tensor names")
    func globs() {
        let ffn = TensorNamePattern("blk.*.ffn_*")
        #expect(ffn.matches("blk.3.ffn_up.weight"))
        #expect(!ffn.matches("blk.3.attn_q.weight"))
        #expect(TensorNamePattern("blk.0.*").matches("blk.0.attn_k.weight"))
        #expect(!TensorNamePattern("blk.0.*").matches("blk.10.attn_k.weight"))
        #expect(TensorNamePattern("blk.?.attn_?.weight").matches("blk.7.attn_v.weight"))
        #expect(!TensorNamePattern("blk.?.attn_?.weight").matches("blk.17.attn_v.weight"))
        #expect(TensorNamePattern("*").matches(""))
        #expect(!TensorNamePattern("a*b").matches("acbd"))
        #expect(TensorNamePattern("a*b*c").matches("aXbYbZc"))
    }

    @Test("sparsity outside [0, 1) is refused")
    func sparsityRange() {
        for bad in [-0.1, 1.0, 1.5, Double.nan] {
            #expect(throws: PruneError.self) { try UniformSparsity(bad) }
        }
    }
}
