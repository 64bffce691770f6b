import Dispatch
import Kernels
import ModelIO

/// The backward of the model's head and loss for one window: final RMSNorm, output projection
/// and the next-token cross-entropy, block by block of `ForwardPass.headBlock` rows so that no
/// `rows × vocab` logits buffer exists. Per block: logits (computed once), then in one sweep per
/// row its loss and `softmax − onehot(target)` scaled by the loss weight
/// (`shears_cross_entropy_gradient`, rows split over the OpenBLAS threads), then the output
/// weight gradient and the normed-state gradient from the same block, one product each.
package final class LossBackward {
    /// The model shape.
    let config: LlamaConfig
    /// The most positions a window may have.
    let capacity: Int
    /// Rows of logits per block.
    private let block: Int
    /// Logits (then their gradient) of one block, `block × vocab`.
    private let logits: TensorStorage
    /// Final-normed states and their gradient, `capacity × hidden` each.
    private let normed, normedGradient: TensorStorage
    /// Per-row negative log-likelihoods of one block.
    private let losses: TensorStorage

    /// Scratch for windows of up to `capacity` positions of `config`.
    package init(config: LlamaConfig, capacity: Int) {
        self.config = config
        self.capacity = capacity
        block = min(ForwardPass.headBlock, capacity)
        logits = TensorStorage(zeros: block * config.vocabSize)
        normed = TensorStorage(zeros: capacity * config.hiddenSize)
        normedGradient = TensorStorage(zeros: capacity * config.hiddenSize)
        losses = TensorStorage(zeros: block)
    }

    /// For the final hidden `states` (`rows × hidden`, before the final norm) of a window of
    /// `tokens`, with loss `scale · Σ_t nll(t → t+1)`: overwrites `stateGradient` (`rows × hidden`)
    /// with `dL/dstates`; writes (or adds, when `accumulate`) `dL/d(output weight)` into
    /// `outputGradient` and adds `dL/d(final norm)` to `normGradient`, each when given. Returns
    /// the window's summed negative log-likelihood (unscaled).
    package func run(
        states: UnsafePointer<Float>, rows: Int, tokens: UnsafePointer<Int32>, scale: Float,
        outputWeight: UnsafePointer<Float>, normWeight: UnsafePointer<Float>,
        stateGradient: UnsafeMutablePointer<Float>, outputGradient: UnsafeMutablePointer<Float>?,
        accumulate: Bool, normGradient: UnsafeMutablePointer<Float>?
    ) -> Double {
        precondition(rows >= 2 && rows <= capacity, "loss backward: \(rows) rows outside 2...\(capacity)")
        let hidden = config.hiddenSize, vocab = config.vocabSize
        let normed = self.normed.buffer.baseAddress!, dNormed = normedGradient.buffer.baseAddress!
        let logits = self.logits.buffer.baseAddress!, losses = self.losses.buffer.baseAddress!
        shears_rmsnorm(states, normWeight, normed, rows, hidden, config.rmsNormEpsilon)
        dNormed.update(repeating: 0, count: rows * hidden)
        var total = 0.0
        var start = 0
        let predictions = rows - 1
        while start < predictions {
            let count = min(block, predictions - start)
            let x = normed + start * hidden
            LinearAlgebra.linear(
                x, rows: count, inputs: hidden, xStride: hidden, weight: outputWeight, outputs: vocab,
                into: logits, yStride: vocab)
            let shared = (
                logits: UnsafeSendable(logits), losses: UnsafeSendable(losses),
                targets: UnsafeSendable(tokens + start + 1)
            )
            ParallelSlices.run(count, minimum: 1) { slice in
                shears_cross_entropy_gradient(
                    shared.logits.value + slice.lowerBound * vocab, slice.count, vocab, vocab,
                    shared.targets.value + slice.lowerBound, scale, shared.losses.value + slice.lowerBound)
            }
            for r in 0..<count { total += Double(losses[r]) }
            if let outputGradient {
                LinearBackward.weightGradient(
                    logits, rows: count, outputs: vocab, input: x, inputs: hidden, into: outputGradient,
                    accumulate: accumulate || start > 0)
            }
            LinearBackward.inputGradient(
                logits, rows: count, outputs: vocab, weight: outputWeight, inputs: hidden,
                into: dNormed + start * hidden)
            start += count
        }
        stateGradient.update(repeating: 0, count: rows * hidden)
        RMSNormBackward.backward(
            x: states, weight: normWeight, outputGradient: dNormed, rows: rows, n: hidden,
            epsilon: config.rmsNormEpsilon, addingInputGradientTo: stateGradient, addingWeightGradientTo: normGradient)
        return total
    }
}
