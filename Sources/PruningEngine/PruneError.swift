import Inference

/// A bad pruning request, a failure while pruning (one line naming the layer, tensor or option),
/// or a cancelled prune.
public struct PruneError: Error, CustomStringConvertible, Sendable, Equatable {
    /// What is wrong, in one sentence.
    public var message: String
    /// Set when the prune was cancelled (interrupted or out of time) rather than wrong.
    public var cancellation: Cancellation.Reason?
    /// Set when a computation of the prune (its gradients) was refused before any work for
    /// needing more memory than `PruneOptions.memoryLimit`; front ends add their own remedies.
    public var memoryShortfall: MemoryShortfall?

    /// Creates an error with a one-line message.
    public init(_ message: String) { self.message = message }

    /// The error a cancelled prune stops with.
    public init(cancelled reason: Cancellation.Reason) {
        message = "pruning stopped: \(reason)"
        cancellation = reason
    }

    /// The message.
    public var description: String { message }

    /// Runs `body`, passing a `PruneError` through and turning any other failure into one whose
    /// message starts with `context` (an interrupted or timed-out inference stays a cancellation).
    @discardableResult
    package static func mapping<T>(
        _ context: @autoclosure () -> String, _ body: () throws -> T
    ) throws(PruneError) -> T {
        do {
            return try body()
        } catch let error as PruneError {
            throw error
        } catch let error as InferenceError {
            if let reason = error.cancellation { throw PruneError(cancelled: reason) }
            var mapped = PruneError("\(context()): \(error.message)")
            mapped.memoryShortfall = error.memoryShortfall
            throw mapped
        } catch {
            throw PruneError("\(context()): \(error)")
        }
    }
}
