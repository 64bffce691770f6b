import CBLAS
import Dispatch
import Inference
import Kernels
import ModelIO
import PruningEngine

/// Reconstructor: SparseGPT (Frantar & Alistarh), the reference `fasterprune` step by step.
///
/// With `H` the input Gram matrix: columns never seen (`H_jj = 0`) are zeroed and get `H_jj = 1`;
/// `H += damping · mean(diag H) · I`; `U` = upper Cholesky factor of `H⁻¹` (LAPACK `spotrf`,
/// `spotri`, `spotrf`). Columns are swept left to right in blocks of `blocksize`; inside a block
/// each pruned weight's error `e = w / U_cc` is spread over the block's later columns
/// (`shears_sparsegpt_sweep`), and after the block all later columns get the batched update
/// `W[:, b1:] −= E · U[b0:b1, b1:]` (one sgemm).
///
/// The mask is chosen per block, on the block's current weights:
/// - `.adaptive` unstructured: saliency `w² / U_jj²`, threshold `τ = sorted[Int(rows·C·p)]`
///   over the whole block, prune `≤ τ` (so sparsity is per block, not per row);
/// - `.adaptive` N:M: lazily at every M-th column, the `M − N` lowest saliencies of the group;
/// - `.fixedMask`: the mask an earlier selector chose; only the weights are updated.
///
/// A failed factorisation retries with the damping ×10 (up to 4 times) and notes it.
public struct SparseGPTReconstructor: PruneStep {
    /// Where the mask comes from.
    public enum MaskSource: Sendable, Equatable {
        /// Chosen block by block (unstructured or N:M).
        case adaptive(SparsityPattern)
        /// Taken from an earlier selector (`MatrixWork.mask`).
        case fixedMask
    }

    /// Mask source.
    public let maskSource: MaskSource
    /// Columns per lazy batch and per adaptive-mask block (reference 128).
    public let blocksize: Int
    /// Relative damping λ (reference `percdamp` 0.01).
    public let damping: Double
    /// "sparsegpt" or "sparsegpt-reconstruct".
    public var name: String { maskSource == .fixedMask ? "sparsegpt-reconstruct" : "sparsegpt" }
    /// Reconstructor.
    public var stage: PruneStage { .reconstructor }
    /// The Gram matrix.
    public var requirement: StatisticsRequirement { .gram }

    /// - Throws: `PruneError` for a non-positive block size, a negative damping, an invalid N:M
    ///   pattern or one whose group does not divide the block size.
    public init(maskSource: MaskSource, blocksize: Int = 128, damping: Double = 0.01) throws(PruneError) {
        if case .adaptive(let pattern) = maskSource { _ = try pattern.validated() }
        guard blocksize >= 1 else { throw PruneError("SparseGPT block size \(blocksize) must be at least 1") }
        guard damping >= 0, damping.isFinite else { throw PruneError("SparseGPT damping \(damping) must be ≥ 0") }
        if case .adaptive(.nm(let keep, let group)) = maskSource, blocksize % group != 0 {
            throw PruneError("SparseGPT block size \(blocksize) must be a multiple of M for \(keep):\(group)")
        }
        self.maskSource = maskSource
        self.blocksize = blocksize
        self.damping = damping
    }

    /// Prunes and updates `work.weights`; sets `work.mask`. An adaptive mask follows an N:M
    /// `work.pattern` an allocator set (OWL's per-layer N:M) instead of its own pattern.
    public func run(_ work: MatrixWork) throws(PruneError) {
        let statistics = try work.requireStatistics(.gram, for: name)
        let rows = work.rows, d = work.columns
        var maskSource = maskSource
        if case .adaptive = maskSource, let chosen = work.pattern { maskSource = .adaptive(chosen) }
        if case .adaptive(let pattern) = maskSource {
            try pattern.validate(columns: d, name: work.name)
            if case .nm(let keep, let group) = pattern, blocksize % group != 0 {
                throw PruneError(
                    "\(work.name): SparseGPT block size \(blocksize) must be a multiple of M for \(keep):\(group)")
            }
        }
        if maskSource == .fixedMask, work.mask.count != rows * d {
            throw PruneError("\(work.name): step \(name) needs a mask from a selector step before it")
        }
        if case .adaptive(.unstructured) = maskSource, work.sparsity == 0 {
            work.mask = [UInt8](repeating: 0, count: rows * d)
            return
        }
        let w = work.weights.buffer.baseAddress!
        var hessian = symmetricCopy(statistics.gram!, d)
        for j in 0..<d where hessian[j * d + j] == 0 {
            hessian[j * d + j] = 1
            for r in 0..<rows { w[r * d + j] = 0 }
        }
        let u = try inverseCholesky(hessian, d, work)

        var mask = maskSource == .fixedMask ? work.mask : [UInt8](repeating: 0, count: rows * d)
        var blockMask = [UInt8](repeating: 0, count: rows * blocksize)
        var errors = [Float](repeating: 0, count: rows * blocksize)
        var saliency = [Float](repeating: 0, count: rows * blocksize)
        var scratch = saliency
        let (prune, group): (Int, Int) =
            switch maskSource {
            case .adaptive(.nm(let keep, let m)): (m - keep, m)
            default: (0, 1)
            }
        u.withUnsafeBufferPointer { u in
            let u = u.baseAddress!
            var b0 = 0
            while b0 < d {
                let b1 = min(b0 + blocksize, d), width = b1 - b0
                switch maskSource {
                case .fixedMask:
                    for r in 0..<rows {
                        for c in 0..<width { blockMask[r * width + c] = mask[r * d + b0 + c] }
                    }
                case .adaptive(.unstructured):
                    for r in 0..<rows {
                        for c in 0..<width {
                            let diagonal = u[(b0 + c) * d + b0 + c]
                            let value = w[r * d + b0 + c]
                            saliency[r * width + c] = value * value / (diagonal * diagonal)
                        }
                    }
                    let count = rows * width
                    let k = work.prunedCount(of: count)
                    let tau = shears_prune_kth_smallest(saliency, count, k, &scratch)
                    for i in 0..<count { blockMask[i] = 0 }
                    _ = shears_prune_mask_at_most(saliency, count, tau, &blockMask)
                case .adaptive(.nm):
                    for i in 0..<rows * width { blockMask[i] = 0 }
                }
                sweep(w + b0, rows, width, d, u + b0 * d + b0, &blockMask, prune, group, &errors)
                if b1 < d {
                    cblas_sgemm(
                        CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(rows), Int32(d - b1), Int32(width),
                        -1, errors, Int32(width), u + b0 * d + b1, Int32(d), 1, w + b1, Int32(d))
                }
                for r in 0..<rows {
                    for c in 0..<width { mask[r * d + b0 + c] = blockMask[r * width + c] }
                }
                b0 = b1
            }
        }
        work.mask = mask
    }

    /// `shears_sparsegpt_sweep` over one block, its rows (independent) shared among the BLAS threads.
    private func sweep(
        _ w: UnsafeMutablePointer<Float>, _ rows: Int, _ width: Int, _ ldw: Int, _ u: UnsafePointer<Float>,
        _ mask: inout [UInt8], _ prune: Int, _ group: Int, _ errors: inout [Float]
    ) {
        let workers = min(blasThreadCount(), max(1, rows / 64))
        let share = (rows + workers - 1) / workers
        mask.withUnsafeMutableBufferPointer { mask in
            errors.withUnsafeMutableBufferPointer { errors in
                let shared = UnsafeSendable((w: w, u: u, mask: mask.baseAddress!, errors: errors.baseAddress!))
                DispatchQueue.concurrentPerform(iterations: workers) { worker in
                    let first = worker * share, count = min(rows, first + share) - first
                    guard count > 0 else { return }
                    shears_sparsegpt_sweep(
                        shared.value.w + first * ldw, count, width, ldw, shared.value.u, ldw,
                        shared.value.mask + first * width, width, prune, group,
                        shared.value.errors + first * width, width)
                }
            }
        }
    }

    /// The full symmetric matrix from the upper triangle of a row-major `d × d` Gram matrix.
    private func symmetricCopy(_ gram: TensorStorage, _ d: Int) -> [Float] {
        var full = [Float](repeating: 0, count: d * d)
        for i in 0..<d {
            for j in i..<d {
                let value = gram.buffer[i * d + j]
                full[i * d + j] = value
                full[j * d + i] = value
            }
        }
        return full
    }

    /// The row-major upper factor `U` with `UᵀU = (H + λ·mean(diag H)·I)⁻¹` (only its upper
    /// triangle is meaningful), retrying with λ ×10 on failure.
    private func inverseCholesky(_ hessian: [Float], _ d: Int, _ work: MatrixWork) throws(PruneError) -> [Float] {
        let meanDiagonal = (0..<d).reduce(0.0) { $0 + Double(hessian[$1 * d + $1]) } / Double(d)
        var lambda = damping
        for attempt in 0..<5 {
            var a = hessian
            let shift = Float(lambda * meanDiagonal)
            for j in 0..<d { a[j * d + j] += shift }
            // A symmetric row-major matrix is the same column-major. LAPACK's column-major lower
            // triangle is the row-major upper one: factor, invert, and factor H⁻¹ there.
            var n = Int32(d), info: Int32 = 0
            var lower = Int8(UInt8(ascii: "L"))
            spotrf_(&lower, &n, &a, &n, &info)
            if info == 0 { spotri_(&lower, &n, &a, &n, &info) }
            if info == 0 { spotrf_(&lower, &n, &a, &n, &info) }
            if info == 0 {
                if attempt > 0 { work.notes.append("Cholesky failed; succeeded with damping \(lambda)") }
                return a
            }
            lambda = lambda == 0 ? 1e-4 : lambda * 10
        }
        throw PruneError("\(work.name): SparseGPT Cholesky factorisation failed even with damping \(lambda / 10)")
    }
}
