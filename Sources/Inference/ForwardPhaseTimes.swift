import Foundation

/// Wall-clock seconds spent in each phase of the forward pass, accumulated over calls.
public struct ForwardPhaseTimes: Sendable, Equatable {
    /// Token embedding lookup.
    public var embedding: Double = 0
    /// RMSNorms and RoPE.
    public var normsAndRope: Double = 0
    /// The q, k, v and output projections (output includes the residual add).
    public var projections: Double = 0
    /// Scores, causal softmax and the weighted sum of values.
    public var attention: Double = 0
    /// Gate and up projections, SiLU·mul, down projection (with the residual add).
    public var mlp: Double = 0
    /// The output projection and the loss (or the logits).
    public var head: Double = 0

    /// Creates zero times.
    public init() {}

    /// Adds `other`'s seconds phase by phase.
    public static func += (lhs: inout ForwardPhaseTimes, rhs: ForwardPhaseTimes) {
        lhs.embedding += rhs.embedding
        lhs.normsAndRope += rhs.normsAndRope
        lhs.projections += rhs.projections
        lhs.attention += rhs.attention
        lhs.mlp += rhs.mlp
        lhs.head += rhs.head
    }

    /// Sum of all phases.
    public var total: Double { embedding + normsAndRope + projections + attention + mlp + head }

    /// The phases with their names, in pipeline order.
    public var named: [(name: String, seconds: Double)] {
        [
            ("embedding", embedding), ("norms+rope", normsAndRope), ("projections", projections),
            ("attention", attention), ("mlp", mlp), ("head", head),
        ]
    }
}
