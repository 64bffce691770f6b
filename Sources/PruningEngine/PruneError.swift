/// A bad pruning request or a failure while pruning: one line naming the layer, tensor or option.
public struct PruneError: Error, CustomStringConvertible, Sendable, Equatable {
    /// What is wrong, in one sentence.
    public var message: String

    /// Creates an error with a one-line message.
    public init(_ message: String) { self.message = message }

    /// The message.
    public var description: String { message }
}
