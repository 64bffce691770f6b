import Dispatch

/// Element-wise backward work split into contiguous slices, one per OpenBLAS thread, run with
/// OpenBLAS single-threaded (so its workers do not spin beside them). Each slice's results
/// depend only on its own elements, so the bits do not depend on the thread count.
enum ParallelSlices {
    /// Runs `body` on slices covering `0..<count` (on the calling thread alone when `count`
    /// is under `minimum` or one thread is configured).
    static func run(_ count: Int, minimum: Int, _ body: @Sendable (Range<Int>) -> Void) {
        let workers = min(blasThreadCount(), max(1, count / max(1, minimum)))
        guard workers > 1 else {
            if count > 0 { body(0..<count) }
            return
        }
        let share = (count + workers - 1) / workers
        BLASThreads.singleThreaded {
            DispatchQueue.concurrentPerform(iterations: workers) { worker in
                let start = worker * share, end = min(count, start + share)
                if start < end { body(start..<end) }
            }
        }
    }
}
