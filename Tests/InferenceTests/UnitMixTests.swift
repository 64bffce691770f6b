import Inference
import ModelIO
import TestSupport
import Testing

/// SCOP's selection layer: the gradients of the mixing gates β from the reverse pass match finite
/// differences of the mixed stream's loss, and a mix at β = 1 changes nothing.
@Suite struct UnitMixTests {
    /// Mixes on every layer of `model` with β drawn in [0.2, 0.8] and fixed random knockoffs.
    static func mixes(_ model: Model, capacity: Int, seed: UInt64) -> [UnitMix?] {
        var rng = SplitMix64(seed: seed)
        return (0..<model.config.layerCount).map { layer in
            let mix = UnitMix(config: model.config, layer: layer, capacity: capacity, heads: true, channels: true)
            mix.heads = mix.heads!.map { _ in Float.random(in: 0.2...0.8, using: &rng) }
            mix.channels = mix.channels!.map { _ in Float.random(in: 0.2...0.8, using: &rng) }
            for storage in [mix.knockoffContext, mix.knockoffHidden] {
                for i in storage.buffer.indices { storage.buffer[i] = Float.random(in: -1...1, using: &rng) }
            }
            return mix
        }
    }

    /// Random windows of `model`'s vocabulary, one per (length, seed).
    static func windows(_ model: Model, _ windows: [(length: Int, seed: UInt64)]) -> [[Int32]] {
        windows.map { ForwardPassTests.tokens($0.length, vocab: model.config.vocabSize, seed: $0.seed) }
    }

    @Test("∂L/∂β matches central differences of the mixed loss")
    func betaGradients() throws {
        let model = try TinyModel.make(seed: 5)
        let windows = Self.windows(model, [(10, 1), (10, 2)])
        let mixes = Self.mixes(model, capacity: 10, seed: 9)
        let gradients = ModelGradients(model: model)
        let analytic = try gradients.gates(windows: windows, units: [.heads, .channels], mixes: mixes)
        /// The mixed loss with one β moved by `delta`.
        func loss(_ layer: Int, heads: Bool, _ unit: Int, _ delta: Float) throws -> Double {
            let mix = mixes[layer]!
            if heads { mix.heads![unit] += delta } else { mix.channels![unit] += delta }
            defer { if heads { mix.heads![unit] -= delta } else { mix.channels![unit] -= delta } }
            return try gradients.gates(windows: windows, units: [.heads], mixes: mixes).loss
        }
        let h: Float = 0.02
        var checked = 0
        for layer in 0..<model.config.layerCount {
            for (heads, units) in [(true, [0, 3]), (false, [0, 7, 31, 47])] {
                for unit in units {
                    let numeric =
                        (try loss(layer, heads: heads, unit, h) - loss(layer, heads: heads, unit, -h)) / Double(2 * h)
                    let exact = heads ? analytic.layers[layer].heads[unit] : analytic.layers[layer].channels[unit]
                    #expect(
                        abs(numeric - exact) <= 2e-3 * max(abs(exact), 1e-2),
                        "layer \(layer) \(heads ? "head" : "channel") \(unit): \(exact) vs \(numeric)")
                    checked += 1
                }
            }
        }
        #expect(checked == 12)
    }

    @Test("records kept from the forward and records recomputed in the backward give the same gates")
    func keptAndRecomputed() throws {
        let model = try TinyModel.make(seed: 4)
        let windows = Self.windows(model, [(9, 5), (12, 6)])
        let gradients = ModelGradients(model: model)
        for mixes in [Self.mixes(model, capacity: 12, seed: 3), nil] {
            let runs = try [0, 1, model.config.layerCount].map { kept in
                try gradients.gates(windows: windows, units: [.heads, .channels], mixes: mixes, keptLayers: kept)
            }
            for run in runs.dropFirst() {
                #expect(run.loss == runs[0].loss)
                #expect(run.layers.map(\.heads) == runs[0].layers.map(\.heads), "mixed: \(mixes != nil)")
                #expect(run.layers.map(\.channels) == runs[0].layers.map(\.channels), "mixed: \(mixes != nil)")
            }
        }
    }

    @Test("the forward pass with mixes gives the mixed loss the reverse pass reports")
    func forwardMixedLoss() throws {
        let model = try TinyModel.make(seed: 8)
        let windows = Self.windows(model, [(10, 3), (7, 4)])
        let mixes = Self.mixes(model, capacity: 10, seed: 2)
        let reverse = try ModelGradients(model: model).gates(windows: windows, units: [.heads], mixes: mixes).loss
        let forward = try ForwardPass(model: model, capacity: 10)
        let plain = try windows.flatMap { try forward.negativeLogLikelihoods($0) }
        forward.mixes = mixes
        let mixed = try windows.flatMap { try forward.negativeLogLikelihoods($0) }
        let mean = mixed.reduce(0.0) { $0 + Double($1) } / Double(mixed.count)
        #expect(abs(mean - reverse) <= 1e-5 * abs(reverse), "forward \(mean), reverse pass \(reverse)")
        #expect(abs(mean - plain.reduce(0.0) { $0 + Double($1) } / Double(plain.count)) > 1e-3)
    }

    @Test("at β = 1 the mix leaves the loss as it is")
    func identityMix() throws {
        let model = try TinyModel.make(seed: 6)
        let windows = Self.windows(model, [(12, 4)])
        let gradients = ModelGradients(model: model)
        let plain = try gradients.gates(windows: windows, units: [.heads, .channels])
        let mixes: [UnitMix?] = (0..<model.config.layerCount).map { layer in
            let mix = UnitMix(
                config: model.config, layer: layer, capacity: 12, heads: true, channels: true, initial: 1)
            mix.knockoff = { _, _, out in out.update(repeating: 0) }
            return mix
        }
        let mixed = try gradients.gates(windows: windows, units: [.heads, .channels], mixes: mixes)
        #expect(abs(mixed.loss - plain.loss) < 1e-9)
        // At β = 0.5 with zero knockoffs the loss changes.
        for mix in mixes { mix!.heads = mix!.heads!.map { _ in 0.5 } }
        #expect(abs(try gradients.gates(windows: windows, units: [.heads], mixes: mixes).loss - plain.loss) > 1e-4)
    }
}
