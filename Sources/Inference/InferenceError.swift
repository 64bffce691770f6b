/// A bad argument to the forward pass, perplexity evaluation or generation, or a cancelled one.
public struct InferenceError: Error, CustomStringConvertible, Sendable, Equatable {
    /// What is wrong, in one sentence.
    public var message: String
    /// Set when the computation was cancelled rather than wrong.
    public var cancellation: Cancellation.Reason?
    /// Set when the request was refused before any work because its memory estimate exceeds
    /// the limit, so that a front end can name its own way to lower or raise them.
    public var memoryShortfall: MemoryShortfall?

    /// Creates an error with a one-line message.
    public init(_ message: String) { self.message = message }

    /// The message.
    public var description: String { message }
}

/// A computation's estimated memory beyond the model, and the limit it exceeds (bytes).
public struct MemoryShortfall: Sendable, Equatable {
    /// What the computation would need.
    public var needed: Int
    /// What it may use.
    public var limit: Int

    /// A shortfall of `needed` bytes against `limit`.
    public init(needed: Int, limit: Int) {
        self.needed = needed
        self.limit = limit
    }
}
