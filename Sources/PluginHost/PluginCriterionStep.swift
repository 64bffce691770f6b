import BuiltinMethods
import PluginAPI
import ModelIO

/// Criterion step: runs a plugin criterion's `score` on each matrix.
///
/// The plugin reads the weights and the declared statistics through borrowed views of the
/// engine's own buffers (`MatrixWork.weights`, `InputStatistics` arrays): nothing is copied. The
/// scores buffer starts zeroed, as the built-in criteria's do (`shears plugin-check` fills it with
/// NaN instead, to catch scores a plugin leaves unwritten).
///
/// The NaN check is a pass over the scores; `PluginMethod` leaves it to a `PluginCheckedSelector`
/// instead, which checks each block of rows just before selecting it (no extra memory pass).
public struct PluginCriterionStep: PruneStep {
    /// The instance that scores.
    public let criterion: PluginCriterion
    /// The pattern the selector will enforce (passed to the plugin as `pattern_n`/`pattern_m`).
    public let pattern: SparsityPattern
    /// Whether this step checks the scores for NaN itself (false when a checked selector follows).
    public let checksScores: Bool

    /// A step scoring with `criterion` for a selection under `pattern`.
    public init(_ criterion: PluginCriterion, pattern: SparsityPattern = .unstructured, checksScores: Bool = true) {
        self.criterion = criterion
        self.pattern = pattern
        self.checksScores = checksScores
    }

    /// `plugin-id/criterion-id`.
    public var name: String { "\(criterion.library.id)/\(criterion.descriptor.id)" }
    /// Criterion.
    public var stage: PruneStage { .criterion }
    /// The statistics the criterion declares.
    public var requirement: StatisticsRequirement { criterion.descriptor.statistics }

    /// Fills `work.scores`.
    ///
    /// - Throws: `PruneError` (with the plugin's path, the criterion and the tensor) when a declared
    ///   statistic is missing, the plugin fails, or a score is NaN.
    public func run(_ work: MatrixWork) throws(PruneError) {
        do throws(PluginError) {
            work.scores = try PluginMatrixInput.withInput(of: work, pattern: pattern, criterion: criterion) { input throws(PluginError) in
                var scores = [Float](repeating: 0, count: work.rows * work.columns)
                try scores.withUnsafeMutableBufferPointer { (buffer) throws(PluginError) in
                    try criterion.score(input, into: buffer.baseAddress!)
                    if checksScores, let index = PluginScoreCheck.firstNaN(UnsafeBufferPointer(buffer)) {
                        throw criterion.error("score wrote NaN for \(work.name) at row \(index / work.columns), column \(index % work.columns)")
                    }
                }
                return scores
            }
        } catch {
            throw PruneError(error.description)
        }
    }
}

extension PluginMatrixInput {
    /// Calls `body` with the score input of `work`: borrowed views of its weights and of the
    /// statistics `criterion` declares, valid during `body`.
    ///
    /// - Throws: `PluginError` when a declared statistic was not gathered, or what `body` throws.
    static func withInput<Result>(
        of work: MatrixWork, pattern: SparsityPattern, criterion: PluginCriterion,
        _ body: (UnsafePointer<shears_score_input>) throws(PluginError) -> Result
    ) throws(PluginError) -> Result {
        let declared = criterion.descriptor.statistics
        let statistics = work.statistics
        if !declared.isEmpty {
            guard let statistics, statistics.requirement.isSuperset(of: declared) else {
                throw criterion.error("\(work.name): the declared calibration statistics were not gathered")
            }
        }
        let rows = work.rows, columns = work.columns
        let weights = UnsafePointer(work.weights.buffer.baseAddress!)
        // Borrow the statistics arrays' storage for the call: the arrays are not mutated meanwhile.
        let squaredNorms = declared.contains(.squaredNorms) ? statistics!.squaredNorms : []
        let sums = declared.contains(.moments) ? statistics!.sums : []
        let variances = declared.contains(.moments) ? statistics!.variances : []
        let gram = declared.contains(.gram) ? statistics!.gram : nil
        return try squaredNorms.withUnsafeBufferPointer { (norms) throws(PluginError) -> Result in
            try sums.withUnsafeBufferPointer { (sumsBuffer) throws(PluginError) -> Result in
                try variances.withUnsafeBufferPointer { (variancesBuffer) throws(PluginError) -> Result in
                    var input = PluginMatrixInput(tensorName: work.name, layer: work.layer,
                                                  weight: PluginTensorView(weights, shape: [rows, columns]),
                                                  sparsity: work.sparsity, pattern: pattern)
                    if let base = norms.baseAddress { input.squaredNorms = PluginTensorView(base, shape: [columns]) }
                    if let base = sumsBuffer.baseAddress { input.sums = PluginTensorView(base, shape: [columns]) }
                    if let base = variancesBuffer.baseAddress { input.variances = PluginTensorView(base, shape: [columns]) }
                    if let gram { input.gram = PluginTensorView(UnsafePointer(gram.buffer.baseAddress!), shape: [columns, columns]) }
                    input.sequences = statistics?.sequences ?? 0
                    input.tokens = statistics?.tokens ?? 0
                    return try withExtendedLifetime(gram) { () throws(PluginError) -> Result in try input.withRawInput(body) }
                }
            }
        }
    }
}
