import PluginAPI
import PruningEngine

/// Selector step for a criterion with its own `select`: the plugin turns the scores into a mask,
/// and the host checks the mask (flags 0/1, the pruned count of the sparsity or N:M pattern).
/// A pattern an allocator set in `MatrixWork.pattern` (OWL's per-layer N:M) takes precedence
/// over the step's own; an N:M pattern the mask follows is recorded there for later steps.
public struct PluginSelectorStep: PruneStep {
    /// The instance that selects (the same one that scored).
    public let criterion: PluginCriterion
    /// The pattern the mask must follow unless an allocator set one for the matrix.
    public let pattern: SparsityPattern

    /// A selector calling `criterion`'s `select` for `pattern`.
    ///
    /// - Throws: `PluginError` when the criterion has no `select`.
    public init(_ criterion: PluginCriterion, pattern: SparsityPattern = .unstructured) throws(PluginError) {
        guard criterion.hasSelect else { throw criterion.error("the criterion has no select function") }
        self.criterion = criterion
        self.pattern = pattern
    }

    /// `plugin-id/criterion-id:select`.
    public var name: String { "\(criterion.library.id)/\(criterion.descriptor.id):select" }
    /// Selector.
    public var stage: PruneStage { .selector }
    /// The statistics the criterion declares (select sees the same input as score).
    public var requirement: StatisticsRequirement { criterion.descriptor.statistics }

    /// Sets `work.mask` from `work.scores`.
    ///
    /// - Throws: `PruneError` naming the plugin, criterion and tensor when no scores exist, the
    ///   N:M group size does not divide the columns, the plugin fails, or the mask is not a valid
    ///   selection.
    public func run(_ work: MatrixWork) throws(PruneError) {
        guard work.scores.count == work.rows * work.columns else {
            throw PruneError(
                criterion.error("\(work.name): select needs scores from a criterion step before it").description)
        }
        let pattern = work.pattern ?? self.pattern
        do throws(PruneError) {
            try pattern.validate(columns: work.columns, name: work.name)
        } catch {
            throw PruneError(criterion.error(error.message).description)
        }
        do throws(PluginError) {
            var mask = [UInt8](repeating: 0xFF, count: work.rows * work.columns)
            try PluginMatrixInput.withInput(of: work, pattern: pattern, criterion: criterion) {
                input throws(PluginError) in
                try work.scores.withUnsafeBufferPointer { (scores) throws(PluginError) in
                    try mask.withUnsafeMutableBufferPointer { (out) throws(PluginError) in
                        try criterion.select(input, scores: scores.baseAddress!, into: out.baseAddress!)
                        if let problem = PluginScoreCheck.maskProblem(
                            UnsafeBufferPointer(out), rows: work.rows, columns: work.columns,
                            sparsity: work.sparsity, pattern: pattern)
                        {
                            throw criterion.error("select wrote a bad mask for \(work.name): \(problem)")
                        }
                    }
                }
            }
            work.mask = mask
            if case .nm = pattern { work.pattern = pattern }
        } catch {
            throw PruneError(error.description)
        }
    }
}
