/// SplitMix64 (Steele, Lea and Flood, 2014): the one seeded generator every part of Shears uses
/// where a result must be reproducible from a seed (calibration seeds, sampling, knockoffs,
/// synthetic data). Not for cryptography.
package struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    /// The sequence of `seed`.
    package init(seed: UInt64) { state = seed }

    /// The next 64 random bits.
    package mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1), from the top 53 bits.
    package mutating func unit() -> Double { Double(next() >> 11) / Double(1 << 53) }

    /// Uniform in (0, 1): the midpoints of the 2⁵³ cells, never 0 (safe under a logarithm).
    package mutating func openUnit() -> Double { (Double(next() >> 11) + 0.5) / Double(1 << 53) }
}
