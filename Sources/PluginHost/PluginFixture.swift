import Foundation
import PruningEngine
import SeededRandom

/// A generated matrix with calibration statistics for checking plugins: seeded, so every run
/// sees the same numbers; each buffer also exists in a non-contiguous copy (padded rows, every
/// other column, statistics at stride 3) with the same logical values.
final class PluginFixture {
    let rows: Int
    let columns: Int
    let sequences = 4
    let tokens = 64
    /// `rows × columns`, row-major.
    let weights: UnsafeMutableBufferPointer<Float>
    /// Rows padded to `columns + 5`.
    let paddedWeights: UnsafeMutableBufferPointer<Float>
    /// Every other element: strides `[2 · columns, 2]`.
    let interleavedWeights: UnsafeMutableBufferPointer<Float>
    /// `[columns]` each: squared norms, sums, variances.
    let norms, sums, variances: UnsafeMutableBufferPointer<Float>
    /// The same three at stride 3.
    let stridedNorms, stridedSums, stridedVariances: UnsafeMutableBufferPointer<Float>
    /// `columns × columns`, upper triangle valid (the whole matrix is filled symmetric).
    let gram: UnsafeMutableBufferPointer<Float>

    /// A fixture of `rows × columns` from `seed`.
    init(rows: Int, columns: Int, seed: UInt64) {
        self.rows = rows
        self.columns = columns
        var random = NormalSource(seed: seed)
        func buffer(_ count: Int) -> UnsafeMutableBufferPointer<Float> {
            let buffer = UnsafeMutableBufferPointer<Float>.allocate(capacity: count)
            buffer.initialize(repeating: 0)
            return buffer
        }
        weights = buffer(rows * columns)
        for index in weights.indices { weights[index] = Float(random.next()) * 0.05 }
        paddedWeights = buffer(rows * (columns + 5))
        interleavedWeights = buffer(rows * columns * 2)
        for row in 0..<rows {
            for column in 0..<columns {
                let value = weights[row * columns + column]
                paddedWeights[row * (columns + 5) + column] = value
                interleavedWeights[(row * columns + column) * 2] = value
            }
        }
        let activations = (0..<tokens * columns).map { _ in Float(random.next()) }
        norms = buffer(columns)
        sums = buffer(columns)
        variances = buffer(columns)
        for column in 0..<columns {
            var sum: Float = 0, squares: Float = 0
            for token in 0..<tokens {
                let x = activations[token * columns + column]
                sum += x
                squares += x * x
            }
            norms[column] = squares / Float(sequences)
            sums[column] = sum / Float(sequences)
            let mean = sum / Float(tokens)
            variances[column] = max(0, squares / Float(tokens) - mean * mean)
        }
        stridedNorms = buffer(columns * 3)
        stridedSums = buffer(columns * 3)
        stridedVariances = buffer(columns * 3)
        for column in 0..<columns {
            stridedNorms[column * 3] = norms[column]
            stridedSums[column * 3] = sums[column]
            stridedVariances[column * 3] = variances[column]
        }
        gram = buffer(columns * columns)
        for i in 0..<columns {
            for j in i..<columns {
                var dot: Float = 0
                for token in 0..<tokens { dot += activations[token * columns + i] * activations[token * columns + j] }
                gram[i * columns + j] = 2 * dot / Float(sequences)
                gram[j * columns + i] = gram[i * columns + j]
            }
        }
    }

    deinit {
        for buffer in [
            weights, paddedWeights, interleavedWeights, norms, sums, variances, stridedNorms, stridedSums,
            stridedVariances, gram,
        ] {
            buffer.deallocate()
        }
    }

    /// The layout of the views an input uses.
    enum Layout {
        /// Row-major, unit strides.
        case contiguous
        /// Padded rows and stride-3 statistics.
        case paddedRows
        /// Every other column and stride-3 statistics.
        case interleaved
    }

    /// The input a host would pass for a criterion reading `statistics`.
    func input(
        statistics: StatisticsRequirement, layout: Layout = .contiguous, sparsity: Double = 0.5,
        pattern: SparsityPattern = .unstructured
    ) -> PluginMatrixInput {
        let weight =
            switch layout {
            case .contiguous: PluginTensorView(weights.baseAddress!, shape: [rows, columns])
            case .paddedRows:
                PluginTensorView(paddedWeights.baseAddress!, shape: [rows, columns], strides: [columns + 5, 1])
            case .interleaved:
                PluginTensorView(interleavedWeights.baseAddress!, shape: [rows, columns], strides: [2 * columns, 2])
            }
        var input = PluginMatrixInput(
            tensorName: "blk.0.ffn_up.weight", layer: 0, weight: weight, sparsity: sparsity, pattern: pattern)
        func vector(
            _ plain: UnsafeMutableBufferPointer<Float>, _ strided: UnsafeMutableBufferPointer<Float>
        ) -> PluginTensorView {
            layout == .contiguous
                ? PluginTensorView(plain.baseAddress!, shape: [columns])
                : PluginTensorView(strided.baseAddress!, shape: [columns], strides: [3])
        }
        if statistics.contains(.squaredNorms) { input.squaredNorms = vector(norms, stridedNorms) }
        if statistics.contains(.moments) {
            input.sums = vector(sums, stridedSums)
            input.variances = vector(variances, stridedVariances)
        }
        if statistics.contains(.gram) { input.gram = PluginTensorView(gram.baseAddress!, shape: [columns, columns]) }
        if !statistics.isEmpty {
            input.sequences = sequences
            input.tokens = tokens
        }
        return input
    }
}
