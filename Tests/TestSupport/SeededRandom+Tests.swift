// Every test that imports TestSupport draws from the project's one seeded generator.
@_exported import SeededRandom

extension SplitMix64 {
    /// A uniform Float in [0, 1), from the top 24 bits.
    package mutating func nextUnitFloat() -> Float { Float(next() >> 40) / Float(1 << 24) }
}
