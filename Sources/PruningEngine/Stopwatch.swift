import Dispatch

/// A monotonic stopwatch measuring consecutive intervals: the one stopwatch of the pruning side
/// (Inference's `PhaseClock` is the same type and should become this one once both can share it).
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
