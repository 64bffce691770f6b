import CMPIShims
import PruningEngine

/// The ranks of an MPI job (`mpirun -np N shears prune …`, Open MPI) as the engine's
/// `ProcessGroup`.
///
/// MPI is initialised once, by `join()`, and finalised by `finish()` or ended for every rank by
/// `abort(status:)` when one rank fails (the others would otherwise wait in a collective forever).
public final class MPIProcessGroup: ProcessGroup {
    /// This process's rank in `MPI_COMM_WORLD`.
    public let rank: Int
    /// The number of ranks in `MPI_COMM_WORLD`.
    public let size: Int

    private init(rank: Int, size: Int) {
        self.rank = rank
        self.size = size
    }

    /// Initialises MPI and returns this process's place in the job.
    ///
    /// - Throws: `MPIError` when MPI cannot give serialized thread support.
    public static func join() throws(MPIError) -> MPIProcessGroup {
        var rank: Int32 = 0, size: Int32 = 0
        guard shears_mpi_init(&rank, &size) == 0 else {
            throw MPIError("the MPI library does not support calls from more than one thread (MPI_THREAD_SERIALIZED)")
        }
        return MPIProcessGroup(rank: Int(rank), size: Int(size))
    }

    /// Finalises MPI after the last collective.
    public func finish() { shears_mpi_finalize() }

    /// Ends every rank of the job with `status`.
    public func abort(status: Int32) -> Never {
        shears_mpi_abort(status)
        fatalError("MPI_Abort returned")
    }

    /// Every rank's `values`, concatenated in rank order (`MPI_Allgatherv`).
    public func gather(_ values: [Float]) -> [Float] {
        var counts = [Int64](repeating: 0, count: size)
        shears_mpi_gather_int64(Int64(values.count), &counts)
        let counts32 = counts.map { Int32($0) }
        let total = counts.reduce(0) { $0 + Int($1) }
        return [Float](unsafeUninitializedCapacity: total) { all, initialized in
            values.withUnsafeBufferPointer { shears_mpi_gather_floats($0.baseAddress, counts32, all.baseAddress) }
            initialized = total
        }
    }

    /// Every rank's `bytes`, in rank order (`MPI_Allgather`).
    public func gather(bytes: [UInt8]) -> [[UInt8]] {
        var all = [UInt8](repeating: 0, count: bytes.count * size)
        shears_mpi_gather_bytes(bytes, Int32(bytes.count), &all)
        return (0..<size).map { Array(all[($0 * bytes.count)..<(($0 + 1) * bytes.count)]) }
    }

    /// `values` summed over the ranks in rank order on rank 0, then broadcast.
    public func sum(_ values: UnsafeMutableBufferPointer<Float>) {
        shears_mpi_sum_floats(values.baseAddress, values.count)
    }

    /// `values` summed over the ranks in rank order on rank 0, then broadcast.
    public func sum(_ values: [Double]) -> [Double] {
        var result = values
        shears_mpi_sum_doubles(&result, result.count)
        return result
    }
}

/// A failure to set up MPI.
public struct MPIError: Error, CustomStringConvertible {
    /// What failed.
    public let description: String

    init(_ description: String) { self.description = description }
}
