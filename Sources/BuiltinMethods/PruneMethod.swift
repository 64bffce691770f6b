import ModelIO
import PruningEngine

/// The built-in methods as step lists for `Pruner`.
///
/// For an N:M `pattern` the sparsity is implied (`1 − N/M`); pass `sparsity: nil` or that value.
/// Unstructured with `sparsity: nil`, a method brings no allocator: put one in front of it
/// (`owl`, `layerSparsity`), or `Pruner` reports the missing sparsity.
public enum PruneMethod {
    /// How magnitude pruning compares weights.
    public enum MagnitudeScope: String, Sendable {
        /// One threshold per matrix, pruning `≤ τ` (the reference baseline).
        case matrix
        /// Exactly `Int(in · p)` per output row.
        case row
    }

    /// Magnitude pruning (no calibration data needed). In N:M groups (also OWL's) equal magnitudes
    /// are resolved as the reference's `torch.topk` resolves them (`GroupTieOrder.torchTopK`).
    ///
    /// - Throws: `PruneError` for a sparsity outside [0, 1) or not matching the pattern.
    public static func magnitude(
        sparsity: Double?, pattern: SparsityPattern = .unstructured, scope: MagnitudeScope = .matrix
    ) throws(PruneError) -> [any PruneStep] {
        let allocator = try UniformSparsity.implied(by: sparsity, pattern: pattern)
        let selector: any PruneStep =
            switch (pattern, scope) {
            case (.nm, _): try GroupSelector(pattern)
            case (.unstructured, .matrix): MatrixThresholdSelector()
            case (.unstructured, .row): RowSelector()
            }
        return allocator + [MagnitudeScore(), selector]
    }

    /// Wanda: |W|·‖X_j‖ per output row (or N:M); `variant` is the reference's adaptive-α
    /// `--use_variant` (unstructured only). In N:M groups (also OWL's) equal scores are resolved
    /// as the reference's `torch.topk` resolves them (`GroupTieOrder.torchTopK`).
    ///
    /// - Throws: `PruneError` for a bad sparsity, or `variant` with N:M.
    public static func wanda(
        sparsity: Double?, pattern: SparsityPattern = .unstructured, variant: Bool = false
    ) throws(PruneError) -> [any PruneStep] {
        let allocator = try UniformSparsity.implied(by: sparsity, pattern: pattern)
        if variant, pattern != .unstructured {
            throw PruneError("the Wanda variant works on unstructured sparsity only")
        }
        let selector: any PruneStep =
            switch (pattern, variant) {
            case (.nm, _): try GroupSelector(pattern)
            case (.unstructured, true): AdaptiveRowSelector()
            case (.unstructured, false): RowSelector()
            }
        return allocator + [WandaScore(), selector]
    }

    /// Taylor importance from the dense model's loss gradient (LLM-Pruner's element-wise terms;
    /// `order` 1: `|W ⊙ g|`, 2: `|W ⊙ g − ½ W ⊙ F ⊙ W|`), pruned per output row or N:M like Wanda.
    ///
    /// - Throws: `PruneError` for a bad sparsity.
    public static func taylor(
        sparsity: Double?, pattern: SparsityPattern = .unstructured, order: TaylorScore.Order = .first
    ) throws(PruneError) -> [any PruneStep] {
        let allocator = try UniformSparsity.implied(by: sparsity, pattern: pattern)
        let selector: any PruneStep =
            switch pattern {
            case .nm: try GroupSelector(pattern)
            case .unstructured: RowSelector()
            }
        return allocator + [TaylorScore(order: order), selector]
    }

    /// SparseGPT with its own block-wise mask (reference defaults: blocksize 128, damping 0.01).
    ///
    /// - Throws: `PruneError` for a bad sparsity, block size or damping.
    public static func sparseGPT(
        sparsity: Double?, pattern: SparsityPattern = .unstructured, blocksize: Int = 128, damping: Double = 0.01
    ) throws(PruneError) -> [any PruneStep] {
        try UniformSparsity.implied(by: sparsity, pattern: pattern)
            + [try SparseGPTReconstructor(maskSource: .adaptive(pattern), blocksize: blocksize, damping: damping)]
    }

    /// DSnoT on the mask the steps before it chose (reference defaults; attention parts only).
    ///
    /// - Throws: `PruneError` for bad cycles, threshold, power or parts.
    public static func dsnot(
        maxCycles: Int = 50, threshold: Double = 0.1, power: Double = 1,
        parts: Set<LlamaTensorNames.Layer> = DSnoTRefiner.attentionParts, growPrunedOnly: Bool = false
    ) throws(PruneError) -> [any PruneStep] {
        [
            try DSnoTRefiner(
                maxCycles: maxCycles, threshold: threshold, power: power, parts: parts,
                growPrunedOnly: growPrunedOnly)
        ]
    }

    /// OWL's per-layer allocation (README defaults M = 5, λ = 0.08); put a method without a
    /// sparsity after it.
    ///
    /// - Throws: `PruneError` for a bad sparsity, pattern, M or λ.
    public static func owl(
        sparsity: Double?, pattern: SparsityPattern = .unstructured, outlierMultiplier: Double = 5,
        lambda: Double = 0.08
    ) throws(PruneError) -> [any PruneStep] {
        [try OWLAllocator(sparsity: sparsity, pattern: pattern, outlierMultiplier: outlierMultiplier, lambda: lambda)]
    }

    /// BESA: a sparsity learned per output row (or matrix) by blockwise reconstruction, rows pruned
    /// in Wanda order unless a criterion step precedes it (reference row-wise defaults: one epoch,
    /// β 5, Prodigy with `d_coef` 5 and lr 1, 101 candidates). `sparsity: nil` leaves the target
    /// to an allocator in front.
    ///
    /// - Throws: `PruneError` for a sparsity outside (0, 1) or a bad option (see `BESA.init`).
    public static func besa(
        sparsity: Double?, epochs: Int = 1, beta: Double = 5, dCoefficient: Double = 5, candidates: Int = 101,
        granularity: BESA.Granularity = .row, optimizer: BESA.Optimizer = .prodigy, lr: Double? = nil,
        exact: Bool = false
    ) throws(PruneError) -> [any PruneStep] {
        if let sparsity, !(sparsity > 0 && sparsity < 1) {
            throw PruneError("besa: the target sparsity must be in (0, 1), got \(sparsity)")
        }
        let step = try BESA(
            epochs: epochs, beta: beta, dCoefficient: dCoefficient, candidates: candidates, granularity: granularity,
            optimizer: optimizer, lr: lr, exact: exact)
        return try UniformSparsity.implied(by: sparsity, pattern: .unstructured) + [step]
    }

    /// A given sparsity per decoder layer (one value per layer); put a method without a sparsity after it.
    ///
    /// - Throws: `PruneError` for an empty list or a value outside [0, 1).
    public static func layerSparsity(_ sparsities: [Double]) throws(PruneError) -> [any PruneStep] {
        [try LayerSparsity(sparsities)]
    }
}
