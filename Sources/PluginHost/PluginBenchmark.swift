import Inference
import ModelIO
import PruningEngine
import SeededRandom

/// Times a plugin criterion step against a built-in criterion step on the same matrices,
/// interleaved (alternating which goes first), and reports the medians and their ratio.
public enum PluginBenchmark {
    /// The medians of one comparison.
    public struct Report: Sendable {
        /// Median seconds of one pass of the built-in over all matrices.
        public let builtinSeconds: Double
        /// Median seconds of one pass of the plugin over all matrices.
        public let pluginSeconds: Double
        /// Weights scored per pass.
        public let weights: Int
        /// Timed passes.
        public let runs: Int
        /// `pluginSeconds / builtinSeconds`.
        public var ratio: Double { pluginSeconds / builtinSeconds }
    }

    /// The `[rows, columns]` of a LLaMA layer's seven linear matrices.
    public static func layerShapes(hidden: Int, kvDimension: Int, ffn: Int) -> [(rows: Int, columns: Int)] {
        [
            (hidden, hidden), (kvDimension, hidden), (kvDimension, hidden), (hidden, hidden), (ffn, hidden),
            (ffn, hidden), (hidden, ffn),
        ]
    }

    /// Runs the step chains `builtin` and `plugin` (e.g. a criterion, or a criterion and a
    /// selector) on generated matrices of `shapes` at sparsity 0.5 with the statistics both
    /// need, `runs` timed samples after one warm-up; each sample runs the chain over all matrices
    /// `repeats` times (more repeats steady short timings on a busy machine) and counts as one pass.
    ///
    /// - Throws: `PruneError` when a step fails.
    public static func compare(
        builtin: [any PruneStep], plugin: [any PruneStep], shapes: [(rows: Int, columns: Int)],
        runs: Int = 21, repeats: Int = 1
    ) throws(PruneError) -> Report {
        var random = NormalSource(seed: 42)
        let requirement = (builtin + plugin).reduce(StatisticsRequirement()) { $0.union($1.requirement) }
        var works: [MatrixWork] = []
        for (index, shape) in shapes.enumerated() {
            let weights = TensorStorage(count: shape.rows * shape.columns) { buffer in
                for i in buffer.indices { buffer[i] = Float(random.next()) * 0.05 }
            }
            let statistics = InputStatistics(columns: shape.columns, requirement: requirement)
            let activations = (0..<32 * shape.columns).map { _ in Float(random.next()) }
            activations.withUnsafeBufferPointer { statistics.accumulate($0) }
            let work = MatrixWork(
                name: "bench.\(index).weight", layer: 0, part: .up, rows: shape.rows, columns: shape.columns,
                weights: weights, statistics: statistics)
            work.sparsity = 0.5
            works.append(work)
        }
        func pass(_ steps: [any PruneStep]) throws(PruneError) -> Double {
            var stopwatch = Stopwatch()
            for _ in 0..<max(repeats, 1) {
                for work in works { for step in steps { try step.run(work) } }
            }
            return stopwatch.lap() / Double(max(repeats, 1))
        }
        _ = try pass(builtin)
        _ = try pass(plugin)
        var builtinTimes: [Double] = [], pluginTimes: [Double] = []
        for run in 0..<max(runs, 1) {
            if run % 2 == 0 {
                builtinTimes.append(try pass(builtin))
                pluginTimes.append(try pass(plugin))
            } else {
                pluginTimes.append(try pass(plugin))
                builtinTimes.append(try pass(builtin))
            }
        }
        return Report(
            builtinSeconds: median(builtinTimes), pluginSeconds: median(pluginTimes),
            weights: shapes.reduce(0) { $0 + $1.rows * $1.columns }, runs: builtinTimes.count)
    }

    private static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        return sorted.count % 2 == 1
            ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
    }
}
