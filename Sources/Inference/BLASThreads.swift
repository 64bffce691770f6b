import CBLAS
import Synchronization

/// OpenBLAS's process-wide thread count, shared safely by forward passes that run their own
/// worker threads. OpenBLAS may round differently with another thread count (its blocking of
/// LAPACK factorizations and of products' edges follows the count), so code that compares BLAS
/// results bit for bit while other threads run forward passes (tests) holds a single-threaded
/// section around both sides.
package enum BLASThreads {
    /// The configured thread count (saved while a single-threaded section runs) and the number
    /// of such sections in progress.
    private static let state = Mutex<(configured: Int, depth: Int)>((configured: 0, depth: 0))

    /// The thread count OpenBLAS uses outside single-threaded sections.
    package static var configured: Int {
        state.withLock { $0.depth > 0 ? $0.configured : Int(openblas_get_num_threads()) }
    }

    /// Runs `body` with OpenBLAS single-threaded (for products issued from several of our own
    /// threads at once), restoring the configured count when the last overlapping section ends.
    package static func singleThreaded<T>(_ body: () throws -> T) rethrows -> T {
        state.withLock { s in
            if s.depth == 0 {
                s.configured = Int(openblas_get_num_threads())
                openblas_set_num_threads(1)
            }
            s.depth += 1
        }
        defer {
            state.withLock { s in
                s.depth -= 1
                if s.depth == 0 { openblas_set_num_threads(Int32(s.configured)) }
            }
        }
        return try body()
    }
}

/// The name of the OpenBLAS kernel in use (e.g. "SkylakeX", "Haswell"), for benchmark reports.
public func blasCoreName() -> String {
    guard let name = openblas_get_corename() else { return "unknown" }
    return String(cString: name)
}

/// The number of threads OpenBLAS uses for one product.
public func blasThreadCount() -> Int { BLASThreads.configured }
