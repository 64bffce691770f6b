import CBLAS

/// Thin wrappers over OpenBLAS for the products of the forward pass (all row-major Float32).
enum LinearAlgebra {
    /// `y[rows, out] = x[rows, in] · Wᵀ (+ y when accumulate)`, W being `[out, in]`; strides in
    /// elements. A single row goes through `sgemv`.
    static func linear(
        _ x: UnsafePointer<Float>, rows: Int, inputs: Int, xStride: Int,
        weight: UnsafePointer<Float>, outputs: Int,
        into y: UnsafeMutablePointer<Float>, yStride: Int, accumulate: Bool = false
    ) {
        let beta: Float = accumulate ? 1 : 0
        if rows == 1 {
            cblas_sgemv(
                CblasRowMajor, CblasNoTrans, Int32(outputs), Int32(inputs), 1, weight, Int32(inputs),
                x, 1, beta, y, 1)
        } else {
            cblas_sgemm(
                CblasRowMajor, CblasNoTrans, CblasTrans, Int32(rows), Int32(outputs), Int32(inputs), 1,
                x, Int32(xStride), weight, Int32(inputs), beta, y, Int32(yStride))
        }
    }

    /// `c[m, n] = alpha · a[m, k] · b[k, n]` with b given transposed (`[n, k]`) when `transposeB`.
    static func product(
        m: Int, n: Int, k: Int, alpha: Float,
        _ a: UnsafePointer<Float>, lda: Int, _ b: UnsafePointer<Float>, ldb: Int, transposeB: Bool,
        into c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        cblas_sgemm(
            CblasRowMajor, CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
            Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), 0, c, Int32(ldc))
    }
}
