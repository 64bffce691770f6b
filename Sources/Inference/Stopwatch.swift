import Dispatch

/// A monotonic stopwatch measuring consecutive intervals: the one stopwatch of the project (the
/// forward's phase timer, the pruning engine's phases, the benchmarks).
package struct Stopwatch {
    private var last = DispatchTime.now().uptimeNanoseconds

    /// Starts timing now.
    package init() {}

    /// Seconds since the previous lap (or creation), restarting the interval.
    package mutating func lap() -> Double {
        let now = DispatchTime.now().uptimeNanoseconds
        defer { last = now }
        return Double(now - last) * 1e-9
    }
}
