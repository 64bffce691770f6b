import Foundation
import Inference
import ModelIO
import PruningEngine

/// SCOP's `gradient` estimator, the paper's own: every unit's gate β starts at 0.5 and is trained
/// on the next-token loss of the real stream with the knockoffs mixed in (`UnitMix`), the weights
/// frozen, by Adam with the reference's betas (0.5, 0.9), β clamped to [0, 1] after every step.
/// A KV group's query heads share one β (its gradient the sum of theirs).
struct SCOPGradientEstimate {
    /// The learned β per layer and unit kind.
    let betas: [Int: [SCOP.Unit: [Double]]]
    /// The mixed stream's loss at every step.
    let losses: [Double]

    /// Trains the gates of `units` in `layers` for `steps` steps of `batch` real windows of
    /// `source` (in order, wrapping round).
    ///
    /// - Throws: `PruneError` from the reverse pass or the knockoff source, or on cancellation.
    init(
        source: SCOPKnockoffSource, work: ModelWork, layers: [Int], units: Set<SCOP.Unit>, steps: Int, batch: Int,
        learningRate: Double
    ) throws(PruneError) {
        let config = work.model.config
        let capacity = source.real.map(\.count).max()!
        let attention = units.first { $0 != .channels }
        var mixes: [UnitMix?] = Array(repeating: nil, count: config.layerCount)
        var gates: [Int: [SCOP.Unit: [Double]]] = [:]
        for layer in layers {
            let shape = config.layers[layer]
            let mix = UnitMix(
                config: config, layer: layer, capacity: capacity, heads: attention != nil,
                channels: units.contains(.channels))
            mixes[layer] = mix
            for unit in units where unit.count(in: shape) > 0 {
                gates[layer, default: [:]][unit] = Array(repeating: 0.5, count: unit.count(in: shape))
            }
        }
        var gateUnits: Set<GateUnit> = []
        if attention != nil { gateUnits.insert(.heads) }
        if units.contains(.channels) { gateUnits.insert(.channels) }
        var adam = GateAdam(rate: learningRate, shapes: gates.mapValues { $0.mapValues(\.count) })
        var losses: [Double] = []
        let real = source.real
        for step in 0..<steps {
            let indices = (0..<batch).map { (step * batch + $0) % real.count }
            let gradients = try work.mixGradients(
                windows: indices.map { real[$0] }, units: gateUnits, mixes: mixes,
                prepare: { index in try source.prepare(mixes, window: indices[index]) })
            losses.append(gradients.loss)
            var perUnit: [Int: [SCOP.Unit: [Double]]] = [:]
            for layer in layers {
                let layerGradients = gradients.layers[layer], groupSize = config.layers[layer].groupSize
                for unit in (gates[layer] ?? [:]).keys {
                    perUnit[layer, default: [:]][unit] =
                        switch unit {
                        case .heads: layerGradients.heads
                        case .channels: layerGradients.channels
                        case .kvGroups:
                            stride(from: 0, to: layerGradients.heads.count, by: groupSize).map {
                                layerGradients.heads[$0..<$0 + groupSize].reduce(0, +)
                            }
                        }
                }
            }
            adam.step(&gates, gradients: perUnit)
            for layer in layers {
                Self.write(gates[layer] ?? [:], to: mixes[layer]!, groupSize: config.layers[layer].groupSize)
            }
            work.progress("gradient", unit: "step", done: step + 1, total: steps)
        }
        betas = gates
        self.losses = losses
    }

    /// Sets `mix`'s gates from the units' β (a KV group's β on each of its query heads).
    private static func write(_ gates: [SCOP.Unit: [Double]], to mix: UnitMix, groupSize: Int) {
        if let heads = gates[.heads] { mix.heads = heads.map(Float.init) }
        if let groups = gates[.kvGroups] {
            mix.heads = groups.flatMap { Array(repeating: Float($0), count: groupSize) }
        }
        if let channels = gates[.channels] { mix.channels = channels.map(Float.init) }
    }
}

/// Adam on every unit's β (the reference's betas 0.5 and 0.9, ε 1e-8), clamped to [0, 1] after
/// each step.
private struct GateAdam {
    let rate: Double
    let beta1 = 0.5, beta2 = 0.9, epsilon = 1e-8
    var first: [Int: [SCOP.Unit: [Double]]], second: [Int: [SCOP.Unit: [Double]]]
    var steps = 0

    init(rate: Double, shapes: [Int: [SCOP.Unit: Int]]) {
        self.rate = rate
        first = shapes.mapValues { $0.mapValues { Array(repeating: 0, count: $0) } }
        second = first
    }

    /// One step of `gates` from `gradients` (`∂L/∂β`, same layout).
    mutating func step(_ gates: inout [Int: [SCOP.Unit: [Double]]], gradients: [Int: [SCOP.Unit: [Double]]]) {
        steps += 1
        let correction1 = 1 - pow(beta1, Double(steps)), correction2 = 1 - pow(beta2, Double(steps))
        for (layer, units) in gradients {
            for (unit, g) in units {
                for i in g.indices {
                    first[layer]![unit]![i] = beta1 * first[layer]![unit]![i] + (1 - beta1) * g[i]
                    second[layer]![unit]![i] = beta2 * second[layer]![unit]![i] + (1 - beta2) * g[i] * g[i]
                    let update =
                        rate * (first[layer]![unit]![i] / correction1)
                        / ((second[layer]![unit]![i] / correction2).squareRoot() + epsilon)
                    gates[layer]![unit]![i] = min(1, max(0, gates[layer]![unit]![i] - update))
                }
            }
        }
    }
}
