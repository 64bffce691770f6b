import Foundation
import Inference
import ModelIO
import PruningEngine
import SeededRandom

/// Model step: SCOP for LLMs (Tang et al. 2020, "Scientific Control for Reliable Neural Network
/// Pruning"; `methods-structured.md` §1): every query head (its attended context) and FFN channel
/// (its `ffn_down` input) is mixed with a knockoff, `x̂ = β·x + (1 − β)·x̃` (`UnitMix`), the
/// weights frozen; β starts at 0.5 and is trained on the real stream's next-token loss by Adam
/// (the reference's betas 0.5, 0.9), clamped to [0, 1] after every step, its gradient from the
/// model's reverse pass through the mix. A unit's importance is `I = β − (1 − β)`, times its output
/// scale when `scale` (the magnitude factor replacing the CNN's |γ_BN|: `‖W_{:,j}‖·√E[x_j²]`
/// for a channel, `√Σ_j ‖W_{:,j}‖²·E[x_j²]` over a head's `attn_output` columns). Selection is
/// SCOP's uniform per-layer rate: `Int(ratio·n)` of each chosen layer's FFN channels and
/// `Int(ratio·groupSize)` query heads of each KV group, the lowest by I.
///
/// Knockoffs (paired with the real tokens by position; position 0 is never mixed):
/// - `unpaired` (K2, the reference code's unpaired generated samples): the features of a window
///   from the second half of the calibration windows, run through the unmixed model;
/// - `gaussian` (K3): redundancy-aware Gaussian knockoffs of the real features at each site
///   (`GaussianKnockoffs`), fitted to the dense stream past position 0;
/// - `zeros`: the ablation without a control group (`x̂ = β·x`).
public struct SCOP: ModelStep {
    /// Where the knockoff features come from.
    public enum Knockoffs: String, CaseIterable, Sendable {
        /// K2: real windows from a disjoint part of the calibration text.
        case unpaired
        /// K3: Gaussian model-X knockoffs at each selection site.
        case gaussian
        /// The ablation: knockoffs replaced by zeros.
        case zeros
    }

    /// How β is estimated.
    public enum Estimate: String, CaseIterable, Sendable {
        /// Adam on the LM loss of the mixed real stream (the paper's training of β).
        case gradient
    }

    /// How much to remove: SCOP's per-layer rate or a fraction of the model's parameters.
    public let budget: StructuredBudget
    /// Whether query heads are selection units.
    public let heads: Bool
    /// Whether FFN channels are selection units.
    public let channels: Bool
    /// The knockoff source.
    public let knockoffs: Knockoffs
    /// The estimator.
    public let estimate: Estimate
    /// Adam steps.
    public let steps: Int
    /// Windows per step.
    public let batch: Int
    /// Adam's learning rate.
    public let learningRate: Double
    /// Whether the importance is multiplied by the unit's output scale.
    public let scale: Bool
    /// The layers whose units are mixed and pruned (nil: all).
    public let layers: [Int]?
    /// The seed of the Gaussian knockoffs' noise.
    public let seed: UInt64

    /// "scop".
    public var name: String { "scop" }

    /// - Throws: `PruneError` for a budget outside [0, 1), no unit kind, fewer than one step or
    ///   window per step, or a learning rate that is not positive.
    public init(
        budget: StructuredBudget, heads: Bool = true, channels: Bool = true, knockoffs: Knockoffs = .unpaired,
        estimate: Estimate = .gradient, steps: Int = 300, batch: Int = 8, learningRate: Double = 0.01,
        scale: Bool = true, layers: [Int]? = nil, seed: UInt64 = 0
    ) throws(PruneError) {
        try budget.check(step: "scop")
        guard heads || channels else { throw PruneError("scop: units must name heads, channels or both") }
        guard steps >= 1 else { throw PruneError("scop: steps must be at least 1, got \(steps)") }
        guard batch >= 1 else { throw PruneError("scop: batch must be at least 1, got \(batch)") }
        guard learningRate > 0, learningRate.isFinite else {
            throw PruneError("scop: lr must be positive, got \(learningRate)")
        }
        self.budget = budget
        self.heads = heads
        self.channels = channels
        self.knockoffs = knockoffs
        self.estimate = estimate
        self.steps = steps
        self.batch = batch
        self.learningRate = learningRate
        self.scale = scale
        self.layers = layers
        self.seed = seed
    }

    /// Trains the gates, scores, checks every removal, then removes.
    public func run(model work: ModelWork) throws(PruneError) {
        let model = work.model, config = model.config
        let chosen = try config.checkedLayers(layers, step: name)
        let calibration = work.calibration
        // K2 takes its knockoff windows from the second half of the calibration.
        let realCount = knockoffs == .unpaired ? calibration.count / 2 : calibration.count
        guard realCount >= 1 else {
            throw PruneError(
                "scop: unpaired knockoffs need at least 2 calibration windows (half real, half knockoff), got \(calibration.count)"
            )
        }
        let real = Array(calibration.prefix(realCount)), knockoffWindows = Array(calibration.dropFirst(realCount))
        let statistics = try siteStatistics(work, realCount: realCount, gaussian: knockoffs == .gaussian)
        var fitted: [Int: [LinearInputSite: GaussianKnockoffs]] = [:]
        if knockoffs == .gaussian {
            for layer in chosen {
                for (site, moments) in statistics.moments[layer] ?? [:] {
                    let knockoff = try GaussianKnockoffs(moments: moments)
                    if knockoff.ridge > 1e-6 {
                        work.note(
                            "layer \(layer) \(site): the covariance is singular; ridged with \(knockoff.ridge) of its mean variance"
                        )
                    }
                    fitted[layer, default: [:]][site] = knockoff
                }
            }
        }
        let capacity = calibration.map(\.count).max()!
        var mixes: [UnitMix?] = Array(repeating: nil, count: config.layerCount)
        for layer in chosen {
            mixes[layer] = UnitMix(config: config, layer: layer, capacity: capacity, heads: heads, channels: channels)
        }
        let forward: DecoderLayerForward
        do { forward = try DecoderLayerForward(model: model, capacity: capacity) } catch {
            throw PruneError("scop: \(error.message)")
        }
        var normal = NormalSource(seed: seed)
        var adam = Adam(mixes: mixes, rate: learningRate)
        var units: Set<GateUnit> = []
        if heads { units.insert(.heads) }
        if channels { units.insert(.channels) }
        // The cost reference: one forward over every calibration window.
        let clock = ContinuousClock()
        let forwardStart = clock.now
        _ = try work.meanNegativeLogLikelihood()
        let forwardTime = clock.now - forwardStart
        let estimateStart = clock.now
        var losses: [Double] = []
        for step in 0..<steps {
            let indices = (0..<batch).map { (step * batch + $0) % real.count }
            let windows = indices.map { real[$0] }
            // Prepares window `index` of the batch: its knockoff source at every mixed site.
            let prepare = { (index: Int) throws in
                let rows = windows[index].count
                switch knockoffs {
                case .zeros:
                    for mix in mixes.compactMap({ $0 }) { mix.knockoff = { _, _, out in out.update(repeating: 0) } }
                case .gaussian:
                    for layer in chosen {
                        let sites = fitted[layer] ?? [:]
                        mixes[layer]!.knockoff = { site, values, out in
                            guard let knockoff = sites[site] else { return }
                            knockoff.sample(values.baseAddress!, rows: rows, into: out.baseAddress!, normal: &normal)
                        }
                    }
                case .unpaired:
                    let other = knockoffWindows[(indices[index]) % knockoffWindows.count]
                    guard other.count >= rows else {
                        throw PruneError(
                            "scop: knockoff window \(realCount + indices[index] % knockoffWindows.count) has \(other.count) tokens, fewer than the \(rows) of the real window it is paired with; use windows of one length"
                        )
                    }
                    let features = try Self.features(of: Array(other.prefix(rows)), forward, model, layers: chosen)
                    for layer in chosen {
                        let stored = features[layer]!
                        mixes[layer]!.knockoff = { site, _, out in
                            guard let values = stored[site] else { return }
                            _ = out.update(fromContentsOf: values.prefix(out.count))
                        }
                    }
                }
            }
            let gradients = try work.mixGradients(windows: windows, units: units, mixes: mixes, prepare: prepare)
            losses.append(gradients.loss)
            adam.step(mixes: mixes, gradients: gradients)
        }
        let estimateTime = clock.now - estimateStart
        work.note(
            "scop \(estimate.rawValue) estimator: \(Self.seconds(estimateTime)) s, "
                + String(format: "%.1f", estimateTime / forwardTime)
                + "× one forward over the \(calibration.count) calibration windows (\(Self.seconds(forwardTime)) s)")
        // Importance per unit.
        var headScores: [Int: [Double]] = [:], channelScores: [Int: [Double]] = [:]
        for layer in chosen {
            let mix = mixes[layer]!
            if let betas = mix.heads {
                let magnitudes = scale ? statistics.headScale(model, layer) : nil
                headScores[layer] = betas.enumerated().map { h, beta in
                    Double(2 * beta - 1) * (magnitudes?[h] ?? 1)
                }
            }
            if let betas = mix.channels {
                let magnitudes = scale ? statistics.channelScale(model, layer) : nil
                channelScores[layer] = betas.enumerated().map { j, beta in
                    Double(2 * beta - 1) * (magnitudes?[j] ?? 1)
                }
            }
        }
        let allBetas = mixes.compactMap { $0 }.flatMap { ($0.heads ?? []) + ($0.channels ?? []) }
        work.note(
            "scop \(knockoffs.rawValue)/\(estimate.rawValue): \(steps) steps of \(batch) windows, loss "
                + String(format: "%.4f → %.4f", losses.first!, losses.last!) + ", mean β "
                + String(format: "%.3f", allBetas.reduce(0) { $0 + Double($1) } / Double(max(allBetas.count, 1)))
                + ", β ≤ 0.25: \(allBetas.filter { $0 <= 0.25 }.count) of \(allBetas.count) units")
        func plan(_ ratio: Double) throws(PruneError) -> [(StructuralRemoval, String)] {
            var removals: [(StructuralRemoval, String)] = []
            for layer in chosen {
                if let scores = channelScores[layer] {
                    let count = Int(ratio * Double(scores.count))
                    if count > 0 {
                        guard count < scores.count else {
                            throw PruneError(
                                "scop: ratio \(ratio) removes every FFN channel of layer \(layer); lower it")
                        }
                        removals.append(
                            (
                                .ffnChannels(layer: layer, LLMPruner.lowest(scores, count)),
                                "layer \(layer): \(count) of \(scores.count) FFN channels"
                            ))
                    }
                }
                if let scores = headScores[layer] {
                    let groupSize = config.layers[layer].groupSize
                    let perGroup = Int(ratio * Double(groupSize))
                    guard perGroup > 0 else { continue }
                    guard perGroup < groupSize else {
                        throw PruneError(
                            "scop: ratio \(ratio) removes every query head of layer \(layer)'s KV groups; lower it")
                    }
                    let removed = stride(from: 0, to: scores.count, by: groupSize).flatMap { first in
                        LLMPruner.lowest(Array(scores[first..<first + groupSize]), perGroup).map { first + $0 }
                    }
                    removals.append(
                        (
                            .queryHeads(layer: layer, removed),
                            "layer \(layer): \(removed.count) of \(scores.count) query heads"
                        ))
                }
            }
            return removals
        }
        try budget.apply(to: work, step: name, plan: plan)
    }

    /// `duration` in seconds, rounded to 0.1.
    static func seconds(_ duration: Duration) -> Double {
        let value = Double(duration.components.seconds) + Double(duration.components.attoseconds) * 1e-18
        return (value * 10).rounded() / 10
    }

    /// The knockoff window's features at the mixed sites of `layers`, through the unmixed model:
    /// `[layer][site]`, `rows × width` each.
    static func features(
        of window: [Int32], _ forward: DecoderLayerForward, _ model: Model, layers: [Int]
    ) throws(PruneError) -> [Int: [LinearInputSite: [Float]]] {
        let config = model.config, hidden = config.hiddenSize
        let embedding = model.tensor(LlamaTensorNames.tokenEmbedding)!.storage.buffer
        var state = [Float](repeating: 0, count: window.count * hidden)
        for (row, id) in window.enumerated() {
            for c in 0..<hidden { state[row * hidden + c] = embedding[Int(id) * hidden + c] }
        }
        let wanted = Set(layers)
        var result: [Int: [LinearInputSite: [Float]]] = [:]
        for layer in 0...(layers.max() ?? 0) {
            var seen: [LinearInputSite: [Float]] = [:]
            do {
                try state.withUnsafeMutableBufferPointer { buffer throws(InferenceError) in
                    try forward.run(
                        layer: layer, input: buffer.baseAddress!, rows: window.count, output: buffer.baseAddress!,
                        observe: { site, values in
                            if wanted.contains(layer), site == .attentionContext || site == .ffnHidden {
                                seen[site] = Array(values)
                            }
                        })
                }
            } catch { throw PruneError("scop: \(error.message)") }
            if wanted.contains(layer) { result[layer] = seen }
        }
        return result
    }

    /// The dense stream's statistics at the mixed sites: E[x_j²] per channel (for the output
    /// scale) and, for Gaussian knockoffs, the moments of every site, past position 0.
    private func siteStatistics(_ work: ModelWork, realCount: Int, gaussian: Bool) throws(PruneError) -> SiteStatistics
    {
        var statistics = SiteStatistics()
        try work.denseStream { layer, window, site, values in
            guard window < realCount, site == .attentionContext || site == .ffnHidden else { return }
            let width = values.count / work.calibration[window].count
            let rows = values.count / width - 1
            let past = UnsafeBufferPointer(rebasing: values[width...])
            var squares = statistics.squares[layer, default: [:]][site] ?? Array(repeating: 0, count: width)
            for r in 0..<rows {
                for j in 0..<width { squares[j] += Double(past[r * width + j] * past[r * width + j]) }
            }
            statistics.squares[layer, default: [:]][site] = squares
            statistics.rows[layer, default: [:]][site, default: 0] += rows
            if gaussian {
                var moments = statistics.moments[layer, default: [:]][site] ?? FeatureMoments(width: width)
                moments.add(past, rows: rows)
                statistics.moments[layer, default: [:]][site] = moments
            }
        }
        return statistics
    }
}

/// What `SCOP` gathers from the dense stream.
private struct SiteStatistics {
    /// Σ_t x_tj² per layer and site.
    var squares: [Int: [LinearInputSite: [Double]]] = [:]
    /// The rows summed.
    var rows: [Int: [LinearInputSite: Int]] = [:]
    /// The moments (Gaussian knockoffs only).
    var moments: [Int: [LinearInputSite: FeatureMoments]] = [:]

    /// `‖W_{:,j}‖²·E[x_j²]` per input column of the site's reader.
    private func energies(_ model: Model, _ layer: Int, _ site: LinearInputSite) -> [Double] {
        let part: LlamaTensorNames.Layer = site == .ffnHidden ? .down : .attentionOutput
        let tensor = model.tensor(part.name(layer: layer))!
        let w = tensor.storage.buffer, columns = tensor.columns
        let squares = self.squares[layer]![site]!, n = Double(max(rows[layer]![site]!, 1))
        var norms = [Double](repeating: 0, count: columns)
        for r in 0..<tensor.rows {
            for c in 0..<columns { norms[c] += Double(w[r * columns + c] * w[r * columns + c]) }
        }
        return (0..<columns).map { norms[$0] * squares[$0] / n }
    }

    /// A channel's output scale `‖W_{:,j}‖·√E[x_j²]`.
    func channelScale(_ model: Model, _ layer: Int) -> [Double] {
        energies(model, layer, .ffnHidden).map { $0.squareRoot() }
    }

    /// A head's output scale `√Σ_j ‖W_{:,j}‖²·E[x_j²]` over its columns.
    func headScale(_ model: Model, _ layer: Int) -> [Double] {
        let energy = energies(model, layer, .attentionContext), headDim = model.config.headDim
        return stride(from: 0, to: energy.count, by: headDim).map {
            energy[$0..<$0 + headDim].reduce(0, +).squareRoot()
        }
    }
}

/// Adam on every mix's β (the reference's betas 0.5 and 0.9), clamped to [0, 1] after each step.
private struct Adam {
    let rate: Double
    let beta1 = 0.5, beta2 = 0.9, epsilon = 1e-8
    var first: [[Double]], second: [[Double]]
    var steps = 0

    init(mixes: [UnitMix?], rate: Double) {
        self.rate = rate
        first = mixes.map { mix in Array(repeating: 0, count: (mix?.heads?.count ?? 0) + (mix?.channels?.count ?? 0)) }
        second = first
    }

    /// One step from `gradients` (`∂L/∂β` per layer's heads then channels).
    mutating func step(mixes: [UnitMix?], gradients: GateGradients) {
        steps += 1
        let correction1 = 1 - pow(beta1, Double(steps)), correction2 = 1 - pow(beta2, Double(steps))
        for (layer, mix) in mixes.enumerated() {
            guard let mix else { continue }
            let heads = mix.heads?.count ?? 0
            let g =
                (mix.heads != nil ? gradients.layers[layer].heads : [])
                + (mix.channels != nil ? gradients.layers[layer].channels : [])
            var values = (mix.heads ?? []) + (mix.channels ?? [])
            for i in values.indices {
                first[layer][i] = beta1 * first[layer][i] + (1 - beta1) * g[i]
                second[layer][i] = beta2 * second[layer][i] + (1 - beta2) * g[i] * g[i]
                let update =
                    rate * (first[layer][i] / correction1) / ((second[layer][i] / correction2).squareRoot() + epsilon)
                values[i] = Float(min(1, max(0, Double(values[i]) - update)))
            }
            if mix.heads != nil { mix.heads = Array(values[..<heads]) }
            if mix.channels != nil { mix.channels = Array(values[heads...]) }
        }
    }
}
