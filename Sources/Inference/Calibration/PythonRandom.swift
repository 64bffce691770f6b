/// CPython's `random` module generator (MT19937) for the calls the pruning references make, so
/// that `seed` reproduces their calibration windows exactly.
///
/// `random.seed(n)` for a non-negative integer seeds MT19937 with `init_by_array` over the 32-bit
/// words of `n`; `randint(a, b)` is `a + _randbelow(b - a + 1)`, which draws
/// `getrandbits(n.bit_length())` until the value is below `n`.
public struct PythonRandom: Sendable {
    private var state = [UInt32](repeating: 0, count: 624)
    private var index = 624

    /// Seeds like `random.seed(seed)`.
    public init(seed: UInt64) {
        var key: [UInt32] = []
        var rest = seed
        repeat {
            key.append(UInt32(truncatingIfNeeded: rest))
            rest >>= 32
        } while rest != 0
        initialize(by: key)
    }

    private mutating func initialize(seed: UInt32) {
        state[0] = seed
        for i in 1..<624 {
            state[i] = 1_812_433_253 &* (state[i - 1] ^ (state[i - 1] >> 30)) &+ UInt32(i)
        }
        index = 624
    }

    private mutating func initialize(by key: [UInt32]) {
        initialize(seed: 19_650_218)
        var i = 1, j = 0
        for _ in 0..<max(624, key.count) {
            state[i] = (state[i] ^ ((state[i - 1] ^ (state[i - 1] >> 30)) &* 1_664_525)) &+ key[j] &+ UInt32(j)
            i += 1
            j += 1
            if i >= 624 {
                state[0] = state[623]
                i = 1
            }
            if j >= key.count { j = 0 }
        }
        for _ in 0..<623 {
            state[i] = (state[i] ^ ((state[i - 1] ^ (state[i - 1] >> 30)) &* 1_566_083_941)) &- UInt32(i)
            i += 1
            if i >= 624 {
                state[0] = state[623]
                i = 1
            }
        }
        state[0] = 0x8000_0000
    }

    /// The next 32 random bits (`genrand_uint32`).
    public mutating func nextUInt32() -> UInt32 {
        if index >= 624 {
            for k in 0..<624 {
                let y = (state[k] & 0x8000_0000) | (state[(k + 1) % 624] & 0x7FFF_FFFF)
                state[k] = state[(k + 397) % 624] ^ (y >> 1) ^ ((y & 1) != 0 ? 0x9908_B0DF : 0)
            }
            index = 0
        }
        var y = state[index]
        index += 1
        y ^= y >> 11
        y ^= (y << 7) & 0x9D2C_5680
        y ^= (y << 15) & 0xEFC6_0000
        y ^= y >> 18
        return y
    }

    /// `random.getrandbits(k)` for 1 ≤ k ≤ 64.
    public mutating func bits(_ count: Int) -> UInt64 {
        precondition((1...64).contains(count), "getrandbits supports 1...64 bits here")
        if count <= 32 { return UInt64(nextUInt32() >> (32 - count)) }
        let low = UInt64(nextUInt32())
        let high = UInt64(nextUInt32() >> (64 - count))
        return (high << 32) | low
    }

    /// `random.randint(low, high)`: a uniform integer in `low...high`.
    public mutating func integer(in range: ClosedRange<Int>) -> Int {
        let span = UInt64(range.upperBound - range.lowerBound) + 1
        let width = 64 - span.leadingZeroBitCount
        var value = bits(width)
        while value >= span { value = bits(width) }
        return range.lowerBound + Int(value)
    }
}
