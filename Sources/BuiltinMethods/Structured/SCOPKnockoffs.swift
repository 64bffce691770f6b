import Inference
import ModelIO
import PruningEngine
import SeededRandom

/// SCOP's control group for one run: the real windows and, for each, where its knockoff features
/// come from (`SCOP.Knockoffs`). Knockoff windows (model-sampled or unpaired) run through the
/// *unmixed* model, so their features at every depth are the network's pure response to knockoff
/// data (the reference's knockoff half); real and knockoff tokens are paired by position and
/// position 0 is never mixed. A knockoff window's features do not depend on the gates, so they are
/// computed once per window and kept for later uses while they fit `cacheLimit`.
final class SCOPKnockoffSource {
    /// The default for estimators that revisit windows: 1 GiB of knockoff-window features.
    static let reuseCache = 1 << 30
    /// The source.
    let kind: SCOP.Knockoffs
    /// The windows whose loss trains the gates (all calibration windows, or the first half for
    /// unpaired knockoffs).
    let real: [[Int32]]
    /// The knockoff windows, one per real window (model-sampled or unpaired; empty otherwise).
    let windows: [[Int32]]
    /// The Gaussian knockoffs per layer and site (gaussian only; set with `fit` before use).
    var gaussians: [Int: [LinearInputSite: GaussianKnockoffs]] = [:]
    private let model: Model
    private let forward: DecoderLayerForward
    private let layers: [Int]
    /// The mixed sites (features at other sites are not kept).
    private let sites: Set<LinearInputSite>
    /// The seed of the Gaussian knockoffs' noise and of the model-sampled windows.
    private let seed: UInt64
    private var normal: NormalSource
    /// Knockoff-window features by real window index, and their size in bytes.
    private var cache: [Int: [Int: [LinearInputSite: [Float]]]] = [:]
    private var cachedBytes = 0
    /// The most bytes of knockoff-window features kept (0: none).
    private let cacheLimit: Int

    /// The real windows and the knockoff windows of `work`'s calibration for `kind`, with features
    /// kept at `sites` of `layers` (up to `cacheLimit` bytes of knockoff-window features between
    /// uses); Gaussian knockoffs are fitted later (`fit`). Model-sampled windows are drawn from the unpruned
    /// model at temperature 1, as long as the longest real window.
    ///
    /// - Throws: `PruneError` for fewer than 2 windows with unpaired knockoffs, knockoff windows
    ///   shorter than their real windows, sampled windows longer than the model's context, or a
    ///   failed generation.
    init(
        kind: SCOP.Knockoffs, work: ModelWork, layers: [Int], sites: Set<LinearInputSite>, seed: UInt64,
        cacheLimit: Int
    ) throws(PruneError) {
        self.cacheLimit = cacheLimit
        let calibration = work.calibration, model = work.model
        self.kind = kind
        self.model = model
        self.layers = layers
        self.sites = sites
        self.seed = seed
        normal = NormalSource(seed: seed)
        switch kind {
        case .unpaired:
            let count = calibration.count / 2
            guard count >= 1 else {
                throw PruneError(
                    "scop: unpaired knockoffs need at least 2 calibration windows (half real, half knockoff), got \(calibration.count)"
                )
            }
            real = Array(calibration.prefix(count))
            windows = Array(calibration.dropFirst(count).prefix(count))
        case .model:
            real = calibration
            let length = calibration.map(\.count).max() ?? 0
            guard length <= model.config.contextLength else {
                throw PruneError(
                    "scop: model-sampled knockoffs of \(length) tokens exceed the model's context of \(model.config.contextLength); use shorter calibration windows"
                )
            }
            do {
                windows = try CalibrationSet.generated(
                    by: model, samples: calibration.count, seqlen: length, seed: seed, temperature: 1
                ).windows
            } catch { throw PruneError("scop: sampling the knockoff windows: \(error.message)") }
        case .gaussian, .zeros:
            real = calibration
            windows = []
        }
        for (index, window) in real.enumerated() where !windows.isEmpty && windows[index].count < window.count {
            throw PruneError(
                "scop: knockoff window \(index) has \(windows[index].count) tokens, fewer than the \(window.count) of the real window it is paired with; use windows of one length"
            )
        }
        do { forward = try DecoderLayerForward(model: model, capacity: real.map(\.count).max() ?? 1) } catch {
            throw PruneError("scop: \(error.message)")
        }
    }

    /// Fits the Gaussian knockoffs to `moments` (per layer and site), noting ridged sites on `work`;
    /// without `sampling` only their scales (the local estimator's `E[δδᵀ] = 2D`).
    ///
    /// - Throws: `PruneError` when a site's covariance cannot be fitted (a dead unit).
    func fit(_ moments: [Int: [LinearInputSite: FeatureMoments]], work: ModelWork, sampling: Bool) throws(PruneError) {
        var fitted: [Int: [LinearInputSite: GaussianKnockoffs]] = [:]
        for (layer, sites) in moments.sorted(by: { $0.key < $1.key }) {
            for (site, moment) in sites {
                let knockoff = try GaussianKnockoffs(moments: moment, sampling: sampling)
                if knockoff.ridge > 1e-6 {
                    work.note(
                        "layer \(layer) \(site): the covariance is singular; ridged with \(knockoff.ridge) of its mean variance"
                    )
                }
                fitted[layer, default: [:]][site] = knockoff
            }
        }
        gaussians = fitted
    }

    /// Sets every mix's knockoff fill for real window `index`: the knockoff window's features,
    /// Gaussian knockoffs of the real features, or zeros. With `commonNoise` the Gaussian noise of
    /// each site is drawn from a seed fixed by the window, the layer and the site, so every call
    /// for the window draws the same noise whichever layers are mixed (common random numbers);
    /// otherwise it continues one stream (fresh noise on every call).
    ///
    /// - Throws: `PruneError` when the knockoff window's forward fails.
    func prepare(_ mixes: [UnitMix?], window index: Int, commonNoise: Bool = false) throws(PruneError) {
        switch kind {
        case .zeros:
            for mix in mixes.compactMap({ $0 }) { mix.knockoff = { _, _, out in out.update(repeating: 0) } }
        case .gaussian:
            let rows = real[index].count
            for layer in layers {
                let sites = gaussians[layer] ?? [:], seed = self.seed
                mixes[layer]?.knockoff = { [unowned self] site, values, out in
                    guard let knockoff = sites[site] else { return }
                    guard commonNoise else {
                        knockoff.sample(values.baseAddress!, rows: rows, into: out.baseAddress!, normal: &self.normal)
                        return
                    }
                    var mixer = SplitMix64(
                        seed: seed ^ (UInt64(index) &* 0x9E37_79B9) ^ (UInt64(layer) &* 0x85EB_CA6B)
                            ^ (site == .ffnHidden ? 0x5C0F : 0))
                    var normal = NormalSource(seed: mixer.next())
                    knockoff.sample(values.baseAddress!, rows: rows, into: out.baseAddress!, normal: &normal)
                }
            }
        case .unpaired, .model:
            let features = try knockoffFeatures(window: index)
            for layer in layers {
                let stored = features[layer] ?? [:]
                mixes[layer]?.knockoff = { site, _, out in
                    guard let values = stored[site] else { return }
                    _ = out.update(fromContentsOf: values.prefix(out.count))
                }
            }
        }
    }

    /// The knockoff features paired with real window `index` at the mixed sites of the chosen
    /// layers, given its real features (`[layer][site]`, `rows × width` each): the knockoff
    /// window's, Gaussian knockoffs of the real ones, or zeros.
    ///
    /// - Throws: `PruneError` when the knockoff window's forward fails.
    func knockoffs(
        of realFeatures: [Int: [LinearInputSite: [Float]]], window index: Int
    ) throws(PruneError) -> [Int: [LinearInputSite: [Float]]] {
        switch kind {
        case .unpaired, .model: return try knockoffFeatures(window: index)
        case .zeros: return realFeatures.mapValues { $0.mapValues { Array(repeating: 0, count: $0.count) } }
        case .gaussian:
            let rows = real[index].count
            var result: [Int: [LinearInputSite: [Float]]] = [:]
            for (layer, sites) in realFeatures {
                for (site, values) in sites {
                    guard let knockoff = gaussians[layer]?[site] else { continue }
                    var out = [Float](repeating: 0, count: values.count)
                    values.withUnsafeBufferPointer { x in
                        knockoff.sample(x.baseAddress!, rows: rows, into: &out, normal: &normal)
                    }
                    result[layer, default: [:]][site] = out
                }
            }
            return result
        }
    }

    /// The features of real window `index` at the mixed sites, through the unmixed model.
    ///
    /// - Throws: `PruneError` when the forward fails.
    func realFeatures(window index: Int) throws(PruneError) -> [Int: [LinearInputSite: [Float]]] {
        try Self.features(of: real[index], forward, model, layers: layers, sites: sites)
    }

    /// The knockoff window paired with real window `index`, cut to its length, through the
    /// unmixed model (kept for the next use while the cache has room).
    private func knockoffFeatures(window index: Int) throws(PruneError) -> [Int: [LinearInputSite: [Float]]] {
        if let cached = cache[index] { return cached }
        let features = try Self.features(
            of: Array(windows[index].prefix(real[index].count)), forward, model, layers: layers, sites: sites)
        let bytes = features.values.reduce(0) { $0 + $1.values.reduce(0) { $0 + $1.count * 4 } }
        if cachedBytes + bytes <= cacheLimit {
            cache[index] = features
            cachedBytes += bytes
        }
        return features
    }

    /// `window`'s features at `sites` of `layers`, through the unmixed model: `[layer][site]`,
    /// `rows × width` each.
    private static func features(
        of window: [Int32], _ forward: DecoderLayerForward, _ model: Model, layers: [Int], sites: Set<LinearInputSite>
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
                            if wanted.contains(layer), sites.contains(site) {
                                seen[site] = Array(values)
                            }
                        })
                }
            } catch { throw PruneError("scop: \(error.message)") }
            if wanted.contains(layer) { result[layer] = seen }
        }
        return result
    }
}
