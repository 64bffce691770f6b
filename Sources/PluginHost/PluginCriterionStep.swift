import PruningEngine

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
    /// The pattern the selector will enforce (passed to the plugin as `pattern_n`/`pattern_m`)
    /// unless an allocator set one for the matrix in `MatrixWork.pattern`, which is passed instead.
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
            work.scores = try PluginMatrixInput.withInput(
                of: work, pattern: work.pattern ?? pattern, criterion: criterion
            ) { input throws(PluginError) in
                var scores = [Float](repeating: 0, count: work.rows * work.columns)
                try scores.withUnsafeMutableBufferPointer { (buffer) throws(PluginError) in
                    try criterion.score(input, into: buffer.baseAddress!)
                    if checksScores, let index = PluginScoreCheck.firstNaN(UnsafeBufferPointer(buffer)) {
                        throw criterion.error(
                            "score wrote NaN for \(work.name) at row \(index / work.columns), column \(index % work.columns)"
                        )
                    }
                }
                return scores
            }
        } catch {
            throw PruneError(error.description)
        }
    }
}
