import Kernels
import ModelIO

/// The backward of RoPE: the forward rotates each adjacent pair by the position's angle θ (and
/// scales it by YaRN's attention factor m), so its gradient is the transpose, the rotation by −θ
/// scaled by m — the forward's `shears_rope` kernel run with a table of negated sines.
package struct RotaryBackward {
    /// The inverse table: the forward's cosines, negated sines.
    private let inverse: RotaryTable
    /// The head dimension.
    private let headDim: Int

    /// Inverse rotations for positions `0..<positions` of heads of `headDim` floats, angles from
    /// `base` and `scaling` (as the forward's).
    package init(positions: Int, headDim: Int, base: Float, scaling: RopeScaling = .none) {
        let table = RotaryTable(positions: positions, headDim: headDim, base: base, scaling: scaling)
        for i in table.sines.buffer.indices { table.sines.buffer[i] = -table.sines.buffer[i] }
        inverse = table
        self.headDim = headDim
    }

    /// Maps `dL/d(rotated)` to `dL/d(unrotated)` in place for `rows` rows at positions
    /// `0..<rows`, each of `heads` heads (row stride `heads · headDim`).
    package func apply(_ gradient: UnsafeMutablePointer<Float>, rows: Int, heads: Int) {
        shears_rope(
            gradient, rows, heads * headDim, heads, headDim, inverse.cosines.buffer.baseAddress!,
            inverse.sines.buffer.baseAddress!, 0)
    }
}
