import Kernels

/// The backward of SwiGLU `z = silu(g) ⊙ e`, with `silu(g) = g·σ(g)` and
/// `silu′(g) = σ(g)·(1 + g·(1 − σ(g)))`: the `shears_swiglu_backward` kernel, split over the
/// OpenBLAS threads.
package enum SwiGLUBackward {
    /// From `dz` (overwritten by `dL/dg`) and the forward's `gate` and `up` inputs, writes
    /// `dL/de` into `upGradient`; `n` elements.
    package static func backward(
        gate: UnsafePointer<Float>, up: UnsafePointer<Float>, gradient dz: UnsafeMutablePointer<Float>,
        upGradient: UnsafeMutablePointer<Float>, count n: Int
    ) {
        let shared = (
            gate: UnsafeSendable(gate), up: UnsafeSendable(up), dz: UnsafeSendable(dz),
            upGradient: UnsafeSendable(upGradient)
        )
        ParallelSlices.run(n, minimum: 1 << 16) { slice in
            shears_swiglu_backward(
                shared.gate.value + slice.lowerBound, shared.up.value + slice.lowerBound,
                shared.dz.value + slice.lowerBound, shared.upGradient.value + slice.lowerBound, slice.count)
        }
    }
}
