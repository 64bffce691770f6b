import CBLAS

/// The backward of a linear map `y[rows, out] = x[rows, in] · Wᵀ` (W `[out, in]`, row-major):
/// the input gradient and the weight gradient, one OpenBLAS product each.
package enum LinearBackward {
    /// `dx[rows, in] = dy[rows, out] · W` (added to `dx` when `accumulate`).
    package static func inputGradient(
        _ dy: UnsafePointer<Float>, rows: Int, outputs: Int, weight: UnsafePointer<Float>, inputs: Int,
        into dx: UnsafeMutablePointer<Float>, accumulate: Bool = false
    ) {
        cblas_sgemm(
            CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(rows), Int32(inputs), Int32(outputs), 1,
            dy, Int32(outputs), weight, Int32(inputs), accumulate ? 1 : 0, dx, Int32(inputs))
    }

    /// `dW[out, in] = dyᵀ · x` over the `rows` rows (added to `dW` when `accumulate`).
    package static func weightGradient(
        _ dy: UnsafePointer<Float>, rows: Int, outputs: Int, input x: UnsafePointer<Float>, inputs: Int,
        into dW: UnsafeMutablePointer<Float>, accumulate: Bool
    ) {
        cblas_sgemm(
            CblasRowMajor, CblasTrans, CblasNoTrans, Int32(outputs), Int32(inputs), Int32(rows), 1,
            dy, Int32(outputs), x, Int32(inputs), accumulate ? 1 : 0, dW, Int32(inputs))
    }
}
