/// The calibration statistics of a linear input that a step needs; the engine gathers the union
/// of its steps' requirements and nothing else.
public struct StatisticsRequirement: OptionSet, Sendable, Hashable {
    /// The raw bits.
    public let rawValue: Int
    /// Creates a set from raw bits.
    public init(rawValue: Int) { self.rawValue = rawValue }

    /// Per-column mean squares `scaler_row` (Wanda's ‖X_j‖²/n_seq).
    public static let squaredNorms = StatisticsRequirement(rawValue: 1)
    /// Per-column running mean of per-sequence sums and token-weighted per-sequence variance (DSnoT).
    public static let moments = StatisticsRequirement(rawValue: 2)
    /// The Gram matrix `H = (2/n_seq) Σ XᵀX` (SparseGPT).
    public static let gram = StatisticsRequirement(rawValue: 4)
}
