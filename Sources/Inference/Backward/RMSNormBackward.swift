import Kernels

/// The backward of the row-wise RMSNorm `y = x / sqrt(mean(x²) + eps) ⊙ γ` (the forward's
/// `shears_rmsnorm`). The inverse scale of each row is recomputed from `x`. The
/// `shears_rmsnorm_backward` kernel runs over slices of rows, then `shears_rmsnorm_weight_gradient`
/// over slices of columns (each column summed over the rows in order), on the OpenBLAS threads.
package enum RMSNormBackward {
    /// For `rows` rows of `n` floats: adds `dL/dx` to `dx` and, when given, `dL/dγ` to `dWeight`,
    /// from `dy = dL/dy`. With `x̂ = x·r`, `g = dy ⊙ γ`: `dx = r·(g − x̂·mean(g ⊙ x̂))`,
    /// `dγ = Σ_rows dy ⊙ x̂`.
    package static func backward(
        x: UnsafePointer<Float>, weight: UnsafePointer<Float>, outputGradient dy: UnsafePointer<Float>,
        rows: Int, n: Int, epsilon: Float, addingInputGradientTo dx: UnsafeMutablePointer<Float>,
        addingWeightGradientTo dWeight: UnsafeMutablePointer<Float>?
    ) {
        guard rows > 0, n > 0 else { return }
        withUnsafeTemporaryAllocation(of: Float.self, capacity: rows) { inverse in
            let shared = (
                x: UnsafeSendable(x), weight: UnsafeSendable(weight), dy: UnsafeSendable(dy), dx: UnsafeSendable(dx),
                inverse: UnsafeSendable(inverse.baseAddress!)
            )
            let minimumRows = max(1, (1 << 15) / n)
            ParallelSlices.run(rows, minimum: minimumRows) { slice in
                let offset = slice.lowerBound * n
                shears_rmsnorm_backward(
                    shared.x.value + offset, shared.weight.value, shared.dy.value + offset, shared.dx.value + offset,
                    slice.count, n, epsilon, shared.inverse.value + slice.lowerBound)
            }
            guard let dWeight else { return }
            let target = UnsafeSendable(dWeight)
            ParallelSlices.run(n, minimum: max(16, (1 << 15) / rows)) { columns in
                shears_rmsnorm_weight_gradient(
                    shared.x.value, shared.dy.value, shared.inverse.value, rows, n, columns.lowerBound, columns.count,
                    target.value)
            }
        }
    }
}
