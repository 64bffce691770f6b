/// The processes of a data-parallel prune (`mpirun -np N shears prune …`), as the engine uses
/// them.
///
/// Every rank runs the same command on the same model and calibration windows. Each embeds and
/// runs only its shard of the windows (`shard(of:)`, contiguous, in rank order), so that its
/// shards concatenated in rank order are the windows in their order. The statistics the steps
/// read are combined across ranks before any step runs, every rank then decides the same masks,
/// and rank 0 writes the output. The calls are collective: every rank makes them in the same
/// order.
public protocol ProcessGroup: AnyObject, Sendable {
    /// This process's rank, 0 ..< `size`.
    var rank: Int { get }
    /// The number of ranks.
    var size: Int { get }
    /// Every rank's `values` (of any length), concatenated in rank order, on every rank.
    func gather(_ values: [Float]) -> [Float]
    /// Every rank's `bytes` (the same length on every rank), in rank order, on every rank.
    func gather(bytes: [UInt8]) -> [[UInt8]]
    /// `values` summed element-wise over the ranks in rank order (`(v₀ + v₁) + v₂ …`), so that the
    /// result is the same on every rank and does not depend on timing.
    func sum(_ values: UnsafeMutableBufferPointer<Float>)
    /// `sum` for doubles.
    func sum(_ values: [Double]) -> [Double]
}

extension ProcessGroup {
    /// This rank's windows of `count`: a contiguous range, the first `count % size` ranks taking
    /// one more than the rest.
    public func shard(of count: Int) -> Range<Int> {
        let base = count / size, extra = count % size
        let start = rank * base + min(rank, extra)
        return start..<(start + base + (rank < extra ? 1 : 0))
    }
}
