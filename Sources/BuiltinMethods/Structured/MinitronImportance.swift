/// Minitron's activation importance (Muralidharan et al. 2024, `nas/plugins/megatron.py` of
/// ModelOpt): per channel c of an activation, `√Σ_windows (mean_t |x_tc|)²` — the mean over the
/// sequence, the L2 over the batch (the aggregation the paper found best), in double precision.
struct MinitronImportance {
    /// `Σ_windows (mean_t |x_tc|)²` per channel.
    private(set) var squares: [Double]

    /// An accumulator for `width` channels.
    init(width: Int) { squares = Array(repeating: 0, count: width) }

    /// Adds one window's activation, `rows × width` row-major.
    mutating func add(_ values: UnsafeBufferPointer<Float>) {
        let width = squares.count, rows = values.count / width
        guard rows > 0 else { return }
        var sums = [Double](repeating: 0, count: width)
        for t in 0..<rows { for c in 0..<width { sums[c] += Double(abs(values[t * width + c])) } }
        for c in 0..<width {
            let mean = sums[c] / Double(rows)
            squares[c] += mean * mean
        }
    }

    /// The importance per channel.
    var scores: [Double] { squares.map { $0.squareRoot() } }
}
