import Synchronization

/// A request to stop a long computation early, shared between whoever asks for it (a SIGINT
/// handler, a deadline timer) and the loops that check it (the pruning engine between layers and
/// calibration windows, perplexity between chunks, generation between steps).
///
/// Checking costs one relaxed atomic load; the first reason given wins.
public final class Cancellation: Sendable {
    /// Why a computation was stopped.
    public enum Reason: Int, Sendable, Equatable, CustomStringConvertible {
        /// The user interrupted the process (SIGINT).
        case interrupted = 1
        /// A wall-clock budget ran out (`--timeout`).
        case timedOut = 2

        /// "interrupted" or "timed out".
        public var description: String { self == .interrupted ? "interrupted" : "timed out" }
    }

    private let state = Atomic<Int>(0)

    /// Creates a request that has not been made yet.
    public init() {}

    /// Asks every loop that checks this to stop, for `reason` (ignored once already cancelled).
    public func cancel(_ reason: Reason) {
        _ = state.compareExchange(expected: 0, desired: reason.rawValue, ordering: .relaxed)
    }

    /// Why it was cancelled, or nil while it has not been.
    public var reason: Reason? { Reason(rawValue: state.load(ordering: .relaxed)) }

    /// Throws `InferenceError` with the reason when cancelled.
    public func check() throws(InferenceError) {
        if let reason { throw InferenceError(cancelled: reason) }
    }
}

extension InferenceError {
    /// The error a cancelled computation stops with.
    public init(cancelled reason: Cancellation.Reason) {
        self.init("stopped: \(reason)")
        cancellation = reason
    }
}
