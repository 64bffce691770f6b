import Recipes
import Testing

/// Memory sizes as users write them.
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
}
