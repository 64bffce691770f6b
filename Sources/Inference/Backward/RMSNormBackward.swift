/// The backward of the row-wise RMSNorm `y = x / sqrt(mean(x²) + eps) ⊙ γ` (the forward's
/// `shears_rmsnorm`). The inverse scale of each row is recomputed from `x`.
package enum RMSNormBackward {
    /// For `rows` rows of `n` floats: adds `dL/dx` to `dx` and, when given, `dL/dγ` to `dWeight`,
    /// from `dy = dL/dy`. With `x̂ = x·r`, `g = dy ⊙ γ`: `dx = r·(g − x̂·mean(g ⊙ x̂))`,
    /// `dγ = Σ_rows dy ⊙ x̂`.
    package static func backward(
        x: UnsafePointer<Float>, weight: UnsafePointer<Float>, outputGradient dy: UnsafePointer<Float>,
        rows: Int, n: Int, epsilon: Float, addingInputGradientTo dx: UnsafeMutablePointer<Float>,
        addingWeightGradientTo dWeight: UnsafeMutablePointer<Float>?
    ) {
        for row in 0..<rows {
            let xr = x + row * n, dyr = dy + row * n, dxr = dx + row * n
            var squares: Float = 0
            for i in 0..<n { squares += xr[i] * xr[i] }
            let r = 1 / (squares / Float(n) + epsilon).squareRoot()
            var dot: Float = 0
            for i in 0..<n { dot += dyr[i] * weight[i] * xr[i] }
            let projection = dot * r * r / Float(n)
            for i in 0..<n { dxr[i] += r * (dyr[i] * weight[i] - xr[i] * projection) }
            if let dWeight {
                for i in 0..<n { dWeight[i] += dyr[i] * xr[i] * r }
            }
        }
    }
}
