import Foundation

/// Seeded standard normal numbers: Box–Muller over `SplitMix64`, both numbers of a pair used.
package struct NormalSource: Sendable {
    private var uniform: SplitMix64
    private var spare: Double?

    /// The sequence of `seed`.
    package init(seed: UInt64) { uniform = SplitMix64(seed: seed) }

    /// The next standard normal number.
    package mutating func next() -> Double {
        if let value = spare {
            spare = nil
            return value
        }
        let u = uniform.openUnit(), v = uniform.unit()
        let radius = (-2 * log(u)).squareRoot()
        spare = radius * sin(2 * .pi * v)
        return radius * cos(2 * .pi * v)
    }
}
