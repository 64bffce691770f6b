/// A bad argument to the forward pass, perplexity evaluation or generation, or a cancelled one.
public struct InferenceError: Error, CustomStringConvertible, Sendable, Equatable {
    /// What is wrong, in one sentence.
    public var message: String
    /// Set when the computation was cancelled rather than wrong.
    public var cancellation: Cancellation.Reason?

    /// Creates an error with a one-line message.
    public init(_ message: String) { self.message = message }

    /// The message.
    public var description: String { message }
}
