import Foundation
import Inference
import ModelIO
import PruningEngine

/// Seconds BESA spent per phase in one block.
package struct BESATimes: Sendable {
    /// Block forwards with the hard masks (recording the activations for the backward).
    package var forward = 0.0
    /// The loss seed, the block backward and the chain rule to the logits.
    package var backward = 0.0
    /// Optimiser steps.
    package var optimizer = 0.0
    /// Probabilities, expected sparsities, hard masks and the criterion order.
    package var masks = 0.0
}

/// One block's BESA training: the parametrisation of each targeted matrix, the flat logits of the
/// block, a fresh optimiser, and what the report shows (losses, times).
struct BESABlock {
    private let matrices: [MatrixWork]
    private let weights: [Double]
    private let target: Double
    private let step: BESA
    private var parts: [BESASparsity] = []
    private var offsets: [Int] = []
    private var logits: [Float]
    private var optimizer: any LogitOptimizer
    private var times = BESATimes()
    private var losses: [Double] = []

    /// The block of `matrices` (with their parameter shares `weights`) learning towards `target`.
    init(matrices: [MatrixWork], weights: [Double], target: Double, step: BESA) {
        var clock = Stopwatch()
        self.matrices = matrices
        self.weights = weights
        self.target = target
        self.step = step
        var count = 0
        for matrix in matrices {
            let part = BESASparsity(
                rows: matrix.rows, columns: matrix.columns, scores: matrix.scores, candidateCount: step.candidates,
                rowWise: step.granularity == .row)
            offsets.append(count)
            count += part.logitCount
            parts.append(part)
        }
        logits = [Float](repeating: 0, count: count)
        optimizer =
            switch step.optimizer {
            case .prodigy: Prodigy(initial: logits, lr: step.lr, dCoefficient: step.dCoefficient)
            case .adamw: AdamW(count: count, lr: step.lr)
            }
        times.masks += clock.lap()
    }

    /// One optimiser step per window, in order, `epochs` times.
    mutating func train(_ work: LayerWork) throws(PruneError) {
        let hidden = work.model.config.hiddenSize
        let longest = (0..<work.windowCount).map { work.input(window: $0).count / hidden }.max()!
        let gradients: BlockGradients
        do { gradients = try BlockGradients(model: work.model, capacity: longest) } catch {
            throw PruneError("besa: layer \(work.layer): \(error)")
        }
        for _ in 0..<step.epochs {
            for window in 0..<work.windowCount {
                try work.checkCancellation()
                try train(work, window: window, gradients: gradients, hidden: hidden)
            }
        }
    }

    private mutating func train(
        _ work: LayerWork, window: Int, gradients: BlockGradients, hidden: Int
    ) throws(PruneError) {
        var clock = Stopwatch()
        let (probabilities, rowSparsities, sparsity) = expectedSparsities()
        var masks: [String: [Float]] = [:]
        for (index, part) in parts.enumerated() {
            masks[matrices[index].name] = part.keepMask(part.prunedCounts(rowSparsities[index]))
        }
        times.masks += clock.lap()
        let input = Array(work.input(window: window))
        let reference = work.denseOutput(window: window)
        let rows = input.count / hidden
        var loss = 0.0, forwardSeconds = 0.0
        let result: BlockGradientResult
        do {
            result = try gradients.run(layer: work.layer, input: input, rows: rows, masks: masks) { output in
                forwardSeconds = clock.lap()
                let (value, seed) = BESALoss.reconstruction(output, reference, rows: rows, hidden: hidden)
                loss = value
                return seed
            }
        } catch {
            throw PruneError("besa: layer \(work.layer), window \(window): \(error)")
        }
        times.forward += forwardSeconds
        losses.append(loss + BESALoss.penalty(sparsity, target: target, beta: step.beta))
        let penalty = BESALoss.penaltyDerivative(sparsity, target: target, beta: step.beta)
        var gradient = [Float](repeating: 0, count: logits.count)
        for (index, part) in parts.enumerated() {
            let range = offsets[index]..<offsets[index] + part.logitCount
            logits.withUnsafeBufferPointer { all in
                gradient.withUnsafeMutableBufferPointer { out in
                    part.logitGradient(
                        maskGradient: result.masks[matrices[index].name]!,
                        logits: UnsafeBufferPointer(rebasing: all[range]), probabilities: probabilities[index],
                        penalty: penalty * weights[index], into: UnsafeMutableBufferPointer(rebasing: out[range]))
                }
            }
        }
        times.backward += clock.lap()
        optimizer.step(&logits, gradient: gradient)
        times.optimizer += clock.lap()
    }

    /// Under the current logits: each matrix's candidate probabilities and expected row sparsities,
    /// and the block's parameter-weighted expected sparsity.
    private func expectedSparsities() -> (probabilities: [[Float]], rows: [[Float]], sparsity: Double) {
        var probabilities: [[Float]] = [], rowSparsities: [[Float]] = []
        var sparsity = 0.0
        for (index, part) in parts.enumerated() {
            let p = logits.withUnsafeBufferPointer { all in
                part.probabilities(
                    UnsafeBufferPointer(rebasing: all[offsets[index]..<offsets[index] + part.logitCount]))
            }
            let rows = part.sparsities(p)
            sparsity += part.sparsity(rows) * weights[index]
            probabilities.append(p)
            rowSparsities.append(rows)
        }
        return (probabilities, rowSparsities, sparsity)
    }

    /// Sets every matrix's mask from the final logits (with `exact`, the block's pruned count
    /// moved to `Int(target·total)` by the rows nearest their thresholds) and writes the report.
    mutating func finish(exact: Bool, total: Double) {
        var clock = Stopwatch()
        let (_, rowSparsities, sparsity) = expectedSparsities()
        var counts = zip(parts, rowSparsities).map { part, rows in part.prunedCounts(rows) }
        if exact {
            counts = BESAExactCount.adjust(
                counts, sparsities: rowSparsities, parts: parts, goal: Int((target * total).rounded()))
        }
        for (index, part) in parts.enumerated() { matrices[index].mask = part.pruneMask(counts[index]) }
        times.masks += clock.lap()
        let pruned = counts.reduce(0) { $0 + $1.reduce(0, +) }
        report(rowSparsities, counts, expected: sparsity, reached: Double(pruned) / total, exact: exact)
    }

    private func report(
        _ rowSparsities: [[Float]], _ counts: [[Int]], expected: Double, reached: Double, exact: Bool
    ) {
        for (index, matrix) in matrices.enumerated() {
            let reachedRows = counts[index].map { Double($0) / Double(matrix.columns) }
            var bins = [Int](repeating: 0, count: 10)
            for value in reachedRows { bins[min(9, Int(value * 10))] += 1 }
            let mean = reachedRows.reduce(0, +) / Double(reachedRows.count)
            matrix.notes.append(
                "besa rows: sparsity min \(Self.format(reachedRows.min()!)) mean \(Self.format(mean)) "
                    + "max \(Self.format(reachedRows.max()!)); histogram (0.1 bins) "
                    + bins.map(String.init).joined(separator: " "))
        }
        guard let first = matrices.first else { return }
        let seconds = [times.forward, times.backward, times.optimizer, times.masks].map { String(format: "%.3f", $0) }
        first.notes.append(
            "besa block: loss first \(String(format: "%.6g", losses.first ?? 0)) last "
                + "\(String(format: "%.6g", losses.last ?? 0)) over \(losses.count) steps; sparsity "
                + "\(Self.format(reached)) reached (expected \(Self.format(expected))) for target \(Self.format(target))"
                + (exact ? " (exact: corrected to the target, a deviation from BESA)" : "")
                + "; seconds forward \(seconds[0]) backward \(seconds[1]) optimizer \(seconds[2]) masks \(seconds[3])")
    }

    private static func format(_ value: Double) -> String { String(format: "%.4f", value) }
}
