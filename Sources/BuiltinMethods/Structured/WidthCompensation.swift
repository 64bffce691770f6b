import CBLAS
import Inference
import ModelIO
import PruningEngine

/// What replaces the contribution of removed width units (query heads, KV groups, FFN channels)
/// to their layer's output, through the matrix reading them (`attn_output` or `ffn_down`).
public enum WidthCompensation: Sendable, Equatable {
    /// Nothing: the removed inputs' columns are dropped.
    case none
    /// FLAP's mean bias: `b += W_{:,S}·x̄_S`, x̄ the removed inputs' mean over the dense stream.
    case bias
    /// A ridge least-squares refit of the kept columns on the dense stream's inputs, pulled
    /// towards the columns as they were: `W_K' = (W·Σ_{:,K} + μ·W_K)·(Σ_KK + μ·I)⁻¹`, Σ = Σ_t x_t x_tᵀ,
    /// μ = λ·mean(diag Σ_KK) — the minimiser of `Σ_t ‖W x_t − W_K' x_t,K‖² + μ·‖W_K' − W_K‖²`, so
    /// λ → 0 is the least-squares refit and λ → ∞ no compensation.
    case ridge(lambda: Double)

    /// The names `compensation = "..."` takes.
    public static let names = ["none", "bias", "ridge"]

    /// `name` ("none", "bias" or "ridge") with `lambda` for ridge.
    ///
    /// - Throws: `PruneError` for another name or a negative or non-finite lambda.
    public init(name: String, lambda: Double, step: String) throws(PruneError) {
        guard lambda >= 0, lambda.isFinite else {
            throw PruneError("\(step): lambda must be a finite number ≥ 0, got \(lambda)")
        }
        switch name {
        case "none": self = .none
        case "bias": self = .bias
        case "ridge": self = .ridge(lambda: lambda)
        default:
            throw PruneError("\(step): compensation must be none, bias or ridge, got '\(name)'")
        }
    }
}

/// Gathers, before any removal, what a `WidthCompensation` needs of the chosen layers — the
/// reading matrix's weights and, over the dense stream of the calibration windows, its inputs'
/// mean (bias) or Gram matrix Σ_t x_t x_tᵀ (ridge, accumulated in F32 by `ssyrk`: one
/// `width²` matrix per layer) — and applies it once the units are gone.
struct WidthCompensator {
    let compensation: WidthCompensation
    /// `attn_output` or `ffn_down`.
    let part: LlamaTensorNames.Layer
    /// Per layer, the reading matrix as it was (`rows × width`, row-major) and its width.
    private var weights: [Int: (values: [Float], width: Int)] = [:]
    /// Per layer, the inputs' sums (bias) and the number of tokens.
    private var sums: [Int: [Double]] = [:]
    private var tokens: [Int: Int] = [:]
    /// Per layer, the upper triangle (row-major) of Σ_t x_t x_tᵀ (ridge).
    private var grams: [Int: [Float]] = [:]

    /// Reads `layers`' `part` and streams the calibration windows through the model as it is.
    ///
    /// - Throws: `PruneError` from the dense stream.
    init(
        _ work: ModelWork, _ compensation: WidthCompensation, part: LlamaTensorNames.Layer, layers: [Int]
    )
        throws(PruneError)
    {
        self.compensation = compensation
        self.part = part
        guard compensation != .none, !layers.isEmpty else { return }
        for layer in layers {
            let tensor = work.model.tensor(part.name(layer: layer))!
            weights[layer] = (tensor.storage.array, tensor.columns)
        }
        let site: LinearInputSite = part == .down ? .ffnHidden : .attentionContext
        var sums = self.sums, tokens = self.tokens, grams = self.grams
        let ridge = compensation != .bias, widths = weights.mapValues(\.width)
        try work.denseStream { layer, _, seen, values in
            guard seen == site, let width = widths[layer] else { return }
            let rows = values.count / width
            tokens[layer, default: 0] += rows
            if ridge {
                var gram = grams[layer] ?? Array(repeating: 0, count: width * width)
                cblas_ssyrk(
                    CblasRowMajor, CblasUpper, CblasTrans, Int32(width), Int32(rows), 1, values.baseAddress!,
                    Int32(width), 1, &gram, Int32(width))
                grams[layer] = gram
            } else {
                var sum = sums[layer] ?? Array(repeating: 0, count: width)
                for r in 0..<rows { for j in 0..<width { sum[j] += Double(values[r * width + j]) } }
                sums[layer] = sum
            }
        }
        self.sums = sums
        self.tokens = tokens
        self.grams = grams
    }

    /// FLAP's mean bias: adds `W[:, removed]·mean[removed]` to `part`'s bias of `layer` (created at
    /// zero when absent), `weights` the matrix before the removal (`width` columns, row-major).
    ///
    /// - Throws: `PruneError` when the bias cannot be set.
    static func addMeanContribution(
        _ work: ModelWork, _ part: LlamaTensorNames.Layer, layer: Int, weights: UnsafeBufferPointer<Float>,
        width: Int, removed: [Int], mean: [Double]
    ) throws(PruneError) {
        let rows = weights.count / width
        var values = work.model.bias(of: part, layer: layer)?.storage.array ?? Array(repeating: 0, count: rows)
        for row in 0..<rows {
            var total = 0.0
            for j in removed { total += Double(weights[row * width + j]) * mean[j] }
            values[row] += Float(total)
        }
        try work.setBias(values, of: part, layer: layer)
    }

    /// Compensates `layer`, whose `part` now keeps the original input columns `kept` (ascending):
    /// adds the bias or overwrites the kept columns by their ridge refit.
    ///
    /// - Throws: `PruneError` when setting the bias fails or the ridge system is not positive
    ///   definite (`lambda` 0 on inputs that never vary: raise it).
    func apply(_ work: ModelWork, layer: Int, kept: [Int], step: String) throws(PruneError) {
        guard let (w, width) = weights[layer] else { return }
        let rows = w.count / width
        switch compensation {
        case .none: return
        case .bias:
            let keptSet = Set(kept), count = Double(tokens[layer]!)
            try w.withUnsafeBufferPointer { weights throws(PruneError) in
                try Self.addMeanContribution(
                    work, part, layer: layer, weights: weights, width: width,
                    removed: (0..<width).filter { !keptSet.contains($0) }, mean: sums[layer]!.map { $0 / count })
            }
        case .ridge(let lambda):
            let refit = try ridge(layer: layer, kept: kept, lambda: lambda, step: step)
            let tensor = work.model.tensor(part.name(layer: layer))!, out = tensor.storage.buffer
            precondition(tensor.columns == kept.count && tensor.rows == rows, "ridge: the layer's shape changed")
            for row in 0..<rows {
                for k in kept.indices { out[row * kept.count + k] = Float(refit[row * kept.count + k]) }
            }
        }
    }

    /// `Y = (Σ_KK + μ·I)⁻¹ (Σ_{K,:} Wᵀ + μ·W_Kᵀ)` (`|K| × rows`) stored column-major, that is the
    /// refit `rows × |K|` row-major, by a double-precision Cholesky solve.
    private func ridge(layer: Int, kept: [Int], lambda: Double, step: String) throws(PruneError) -> [Double] {
        let (w, width) = weights[layer]!, rows = w.count / width, gram = grams[layer]!, n = kept.count
        func sigma(_ i: Int, _ j: Int) -> Double { Double(i <= j ? gram[i * width + j] : gram[j * width + i]) }
        var a = [Double](repeating: 0, count: n * n)
        for (p, i) in kept.enumerated() { for (q, j) in kept.enumerated() { a[p * n + q] = sigma(i, j) } }
        let damping = lambda * (0..<n).reduce(0.0) { $0 + a[$1 * n + $1] } / Double(n)
        for p in 0..<n { a[p * n + p] += damping }
        // Σ_{K,:} (n × width) times Wᵀ (width × rows).
        var sigmaKept = [Double](repeating: 0, count: n * width)
        for (p, i) in kept.enumerated() { for j in 0..<width { sigmaKept[p * width + j] = sigma(i, j) } }
        let weights = w.map(Double.init)
        var b = [Double](repeating: 0, count: n * rows)
        cblas_dgemm(
            CblasRowMajor, CblasNoTrans, CblasTrans, Int32(n), Int32(rows), Int32(width), 1, sigmaKept, Int32(width),
            weights, Int32(width), 0, &b, Int32(rows))
        // Row-major A is symmetric, so LAPACK's column-major view is the same matrix; B row-major
        // n × rows is column-major rows × n, so solve for the transpose: Bᵀ A = (A B)ᵀ.
        var order = Int32(n), right = Int32(rows), info: Int32 = 0
        var lower = Int8(UInt8(ascii: "L"))
        dpotrf_(&lower, &order, &a, &order, &info)
        guard info == 0 else {
            throw PruneError(
                "\(step): the ridge system of layer \(layer) is not positive definite (leading minor \(info)); raise lambda"
            )
        }
        // Column-major X (n × rows) with leading dimension n is row-major B transposed: transpose in.
        var x = [Double](repeating: 0, count: n * rows)
        for (p, i) in kept.enumerated() {
            for r in 0..<rows { x[r * n + p] = b[p * rows + r] + damping * weights[r * width + i] }
        }
        dpotrs_(&lower, &order, &right, a, &order, &x, &order, &info)
        precondition(info == 0, "dpotrs: bad argument \(-info)")
        return x
    }
}
