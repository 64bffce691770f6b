/// The linear layers of `BatchedGenerator`: `y[rows, out] = x[rows, in] · Wᵀ (+ y)`, contiguous rows.
enum BatchedLinear {
    /// One product for all rows, read from and written to contiguous `rows × inputs` / `rows × outputs`.
    static func apply(
        _ x: UnsafePointer<Float>, rows: Int, inputs: Int, weight: UnsafePointer<Float>, outputs: Int,
        into y: UnsafeMutablePointer<Float>, accumulate: Bool = false
    ) {
        LinearAlgebra.linear(x, rows: rows, inputs: inputs, xStride: inputs, weight: weight, outputs: outputs,
                             into: y, yStride: outputs, accumulate: accumulate)
    }
}
