import Foundation

/// The backward of SwiGLU `z = silu(g) ⊙ e`, with `silu(g) = g·σ(g)` and
/// `silu′(g) = σ(g)·(1 + g·(1 − σ(g)))`.
package enum SwiGLUBackward {
    /// From `dz` (overwritten by `dL/dg`) and the forward's `gate` and `up` inputs, writes
    /// `dL/de` into `upGradient`; `n` elements.
    package static func backward(
        gate: UnsafePointer<Float>, up: UnsafePointer<Float>, gradient dz: UnsafeMutablePointer<Float>,
        upGradient: UnsafeMutablePointer<Float>, count n: Int
    ) {
        for i in 0..<n {
            let g = gate[i]
            let sigma = 1 / (1 + expf(-g))
            let d = dz[i]
            upGradient[i] = d * g * sigma
            dz[i] = d * up[i] * sigma * (1 + g * (1 - sigma))
        }
    }
}
