import Foundation
import Inference
import Kernels
import PruningEngine

/// The throughput of one pruning kernel.
public struct KernelThroughput: Sendable, Equatable {
    /// Kernel and shape, e.g. "select_rows 1536×576".
    public var name: String
    /// Median seconds per call.
    public var seconds: Double
    /// Bytes the call reads and writes at least once, divided by `seconds`, in GB/s.
    public var gigabytesPerSecond: Double
}

/// Microbenchmarks of the pruning kernels at SmolLM2 shapes, next to a memory-bandwidth probe
/// run in the same process (a streaming sum over a buffer far larger than the caches).
public enum PruneKernelBenchmark {
    /// Measured throughputs and the bandwidth probe in GB/s.
    public struct Report: Sendable {
        /// The ISA the kernels dispatched to.
        public var isa: String
        /// Streaming read bandwidth, GB/s.
        public var memoryGigabytesPerSecond: Double
        /// One entry per kernel.
        public var kernels: [KernelThroughput]

        /// One line per kernel.
        public var summary: String {
            (["prune kernels (\(isa)); memory probe \(String(format: "%.1f", memoryGigabytesPerSecond)) GB/s"]
                + kernels.map {
                    "\($0.name): \(String(format: "%.3f", $0.seconds * 1e3)) ms, "
                        + "\(String(format: "%.1f", $0.gigabytesPerSecond)) GB/s"
                }).joined(separator: "\n")
        }
    }

    /// Runs every kernel `runs` times on `rows × columns` data (defaults: SmolLM2's up projection;
    /// `columns` at least 4).
    public static func run(rows: Int = 1536, columns: Int = 576, runs: Int = 5) -> Report {
        let n = rows * columns
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        let values = (0..<n).map { _ -> Float in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Float(Int64(bitPattern: state) >> 40) / Float(1 << 23)
        }
        var scores = [Float](repeating: 0, count: n), scratch = scores, weights = values
        var mask = [UInt8](repeating: 0, count: n)
        var sums = [Float](repeating: 0, count: columns), squares = sums
        let block = min(128, columns - columns % 4) // one SparseGPT block, a multiple of 4 for 2:4
        var errors = [Float](repeating: 0, count: rows * block)
        var u = [Float](repeating: 0, count: block * block)
        for j in 0..<block { u[j * block + j] = 1 }
        let floatBytes = Double(n * 4)
        func time(_ name: String, bytes: Double, _ body: () -> Void) -> KernelThroughput {
            var times: [Double] = []
            for _ in 0..<runs {
                var stopwatch = Stopwatch()
                body()
                times.append(stopwatch.lap())
            }
            let median = times.sorted()[times.count / 2]
            return KernelThroughput(name: name, seconds: median, gigabytesPerSecond: bytes / median * 1e-9)
        }
        let shape = "\(rows)×\(columns)"
        var kernels: [KernelThroughput] = []
        kernels.append(
            time("column_moments \(shape)", bytes: floatBytes) {
                shears_prune_column_moments(values, rows, columns, columns, &sums, &squares)
            })
        kernels.append(
            time("abs_scores \(shape)", bytes: 2 * floatBytes + Double(columns * 4)) {
                shears_prune_abs_scores(values, rows, columns, sums, &scores)
            })
        kernels.append(
            time("kth_smallest \(n)", bytes: 2 * floatBytes) {
                _ = shears_prune_kth_smallest(scores, n, n / 2, &scratch)
            })
        kernels.append(
            time("select_rows \(shape) k=\(columns / 2)", bytes: floatBytes + Double(n)) {
                shears_prune_select_rows(scores, rows, columns, columns / 2, &mask, &scratch)
            })
        kernels.append(
            time("select_groups 2:4 \(shape)", bytes: floatBytes + Double(n)) {
                shears_prune_select_groups(scores, rows, columns, 2, 4, &mask)
            })
        kernels.append(
            time("apply_mask \(shape)", bytes: 2 * floatBytes + Double(n)) {
                _ = shears_prune_apply_mask(&weights, mask, n)
            })
        kernels.append(
            time("sparsegpt_sweep 2:4 \(rows)×\(block)", bytes: Double(rows * block * 9)) {
                shears_sparsegpt_sweep(&weights, rows, block, columns, u, block, &mask, columns, 2, 4, &errors, block)
            })
        let probe = [Float](repeating: 1, count: 64 << 20)
        let bandwidth = time("memory probe", bytes: Double(probe.count * 4)) {
            _ = probe.withUnsafeBufferPointer { shears_sum($0.baseAddress!, $0.count) }
        }
        return Report(
            isa: String(cString: shears_isa_name(shears_prune_isa())),
            memoryGigabytesPerSecond: bandwidth.gigabytesPerSecond, kernels: kernels)
    }
}
