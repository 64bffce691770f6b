import PluginAPI

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Why a score call failed: a status and a one-line message.
struct PowerFailure: Error {
    /// The status to return.
    var status: shears_status
    /// The message for the caller's buffer.
    var text: String

    /// A failure with a status and its message.
    init(_ status: shears_status, _ text: String) {
        self.status = status
        self.text = text
    }
}

/// The activation-power score `|W_ij| · scaler_row_j^(alpha/2)`.
enum PowerScore {
    /// Checks the views and fills `scores` (rows × columns, row-major). Never traps: sizes are
    /// checked before any arithmetic, scratch comes from the host's `alloc` (nil → OUT_OF_MEMORY).
    static func run(
        alpha: Double, input: UnsafePointer<shears_score_input>?, scores: UnsafeMutablePointer<Float>?,
        host: UnsafePointer<shears_host>
    ) -> Result<Void, PowerFailure> {
        let needed =
            MemoryLayout<shears_score_input>.offset(of: \.squared_norms)! + MemoryLayout<shears_tensor_view>.size
        guard let input, Int(input.pointee.struct_size) >= needed else {
            return .failure(
                PowerFailure(
                    SHEARS_STATUS_INVALID_ARGUMENT, "activation_power: the score input lacks the squared norms"))
        }
        let name = input.pointee.tensor_name.map { String(cString: $0) } ?? "(unnamed)"
        let weight = input.pointee.weight, squared = input.pointee.squared_norms
        guard weight.dtype == SHEARS_DTYPE_F32, weight.rank == 2 else {
            return .failure(
                PowerFailure(SHEARS_STATUS_UNSUPPORTED, "activation_power: \(name): weight must be a rank-2 f32 view"))
        }
        guard squared.rank != 0, squared.data != nil else {
            return .failure(
                PowerFailure(SHEARS_STATUS_INVALID_ARGUMENT, "activation_power: \(name): squared norms are missing"))
        }
        guard squared.dtype == SHEARS_DTYPE_F32, squared.rank == 1 else {
            return .failure(
                PowerFailure(
                    SHEARS_STATUS_UNSUPPORTED, "activation_power: \(name): squared norms must be a rank-1 f32 view"))
        }
        let rows = Int(weight.shape.0), columns = Int(weight.shape.1)
        guard rows >= 0, columns >= 0, Int(squared.shape.0) == columns else {
            return .failure(
                PowerFailure(
                    SHEARS_STATUS_INVALID_ARGUMENT,
                    "activation_power: \(name): weight [\(rows), \(columns)] does not match \(squared.shape.0) squared norms"
                ))
        }
        if rows == 0 || columns == 0 { return .success(()) }
        let (count, overflow) = rows.multipliedReportingOverflow(by: columns)
        guard !overflow, count <= Int.max / MemoryLayout<Float>.stride else {
            return .failure(
                PowerFailure(SHEARS_STATUS_INVALID_ARGUMENT, "activation_power: \(name): weight is too large"))
        }
        guard weight.strides.0 > 0, weight.strides.1 > 0, squared.strides.0 > 0 else {
            return .failure(
                PowerFailure(SHEARS_STATUS_INVALID_ARGUMENT, "activation_power: \(name): strides must be positive"))
        }
        guard let weightData = weight.data?.assumingMemoryBound(to: Float.self),
            let scalerData = squared.data?.assumingMemoryBound(to: Float.self), let scores
        else {
            return .failure(
                PowerFailure(
                    SHEARS_STATUS_INVALID_ARGUMENT, "activation_power: \(name): weight or score buffer is NULL"))
        }
        guard let alloc = host.pointee.alloc, let free = host.pointee.free,
            let scratch = alloc(host, columns * MemoryLayout<Float>.stride, 64)
        else {
            return .failure(
                PowerFailure(SHEARS_STATUS_OUT_OF_MEMORY, "activation_power: \(name): no memory for \(columns) factors")
            )
        }
        let factors = scratch.bindMemory(to: Float.self, capacity: columns)
        fillFactors(factors, scaler: scalerData, stride: Int(squared.strides.0), count: columns, alpha: alpha)
        let rowStride = Int(weight.strides.0), columnStride = Int(weight.strides.1)
        if columnStride == 1, rowStride == columns {
            scoreContiguous(weightData, rows: rows, columns: columns, factors: factors, scores: scores)
        } else {
            scoreStrided(
                weightData, rows: rows, columns: columns, rowStride: rowStride, columnStride: columnStride,
                factors: factors, scores: scores)
        }
        free(host, scratch)
        return .success(())
    }

    /// `factor_j = scaler_j^(alpha/2)` in float; alpha = 1 uses the float square root, so the
    /// scores are bit-identical to Wanda's, and alpha = 0 gives 1 (magnitude) even for 0.
    static func fillFactors(
        _ factors: UnsafeMutablePointer<Float>, scaler: UnsafePointer<Float>, stride: Int,
        count: Int, alpha: Double
    ) {
        let exponent = alpha / 2
        for j in 0..<count {
            let value = scaler[j &* stride]
            factors[j] = alpha == 1 ? value.squareRoot() : Float(pow(Double(value), exponent))
        }
    }

    /// The contiguous layout the host passes in production.
    static func scoreContiguous(
        _ weight: UnsafePointer<Float>, rows: Int, columns: Int,
        factors: UnsafePointer<Float>, scores: UnsafeMutablePointer<Float>
    ) {
        for r in 0..<rows {
            let input = weight + r &* columns, output = scores + r &* columns
            for j in 0..<columns { output[j] = abs(input[j]) * factors[j] }
        }
    }

    /// Any positive strides.
    static func scoreStrided(
        _ weight: UnsafePointer<Float>, rows: Int, columns: Int, rowStride: Int,
        columnStride: Int, factors: UnsafePointer<Float>, scores: UnsafeMutablePointer<Float>
    ) {
        for r in 0..<rows {
            let input = weight + r &* rowStride, output = scores + r &* columns
            for j in 0..<columns { output[j] = abs(input[j &* columnStride]) * factors[j] }
        }
    }
}
