import Inference
import Testing

/// Memory sizes as users write them and as errors print them.
@Suite struct MemoryBudgetTests {
    @Test("binary units, optional B/iB, decimals and case; anything else is nil")
    func parse() {
        #expect(MemoryBudget.parse("4096") == 4096)
        #expect(MemoryBudget.parse("512K") == 512 * 1024)
        #expect(MemoryBudget.parse("64mb") == 64 << 20)
        #expect(MemoryBudget.parse("8GiB") == 8 << 30)
        #expect(MemoryBudget.parse("1.5G") == 3 << 29)
        #expect(MemoryBudget.parse(" 2T ") == 2 << 40)
        for bad in ["", "G", "lots", "-1G", "0", "1X", "nan", "1e30T"] {
            #expect(MemoryBudget.parse(bad) == nil, "\(bad)")
        }
        #expect(MemoryBudget.physical > 1 << 30)
    }

    @Test("sizes print in the largest binary unit under 1024, one decimal under 10")
    func describe() {
        #expect(MemoryBudget.describe(512) == "512 B")
        #expect(MemoryBudget.describe(1024) == "1.0 KiB")
        #expect(MemoryBudget.describe(1536 << 10) == "1.5 MiB")
        #expect(MemoryBudget.describe(37 << 30) == "37 GiB")
        #expect(MemoryBudget.describe(3 << 40) == "3.0 TiB")
    }
}
