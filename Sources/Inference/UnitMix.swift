import ModelIO

/// SCOP's selection layer on one decoder layer's units (Tang et al. 2020): the real feature of a
/// unit replaced by `x̂ = x̃ + β·(x − x̃)`, a gate β on the difference from its knockoff x̃, for the
/// query heads (one β per head, on its attended context) and the FFN channels (on the `ffn_down`
/// input). The forward mixes after recording the real features; the backward adds
/// `Σ_t (x − x̃)·∂L/∂x̂` to the unit gates and passes `β·∂L/∂x̂` on (the knockoff is a constant).
/// With every β 1 it leaves the layer unchanged. Position 0 is never mixed (its knockoff is the
/// real row), so it adds nothing to the gates.
///
/// Not thread-safe: one instance per layer and thread.
package final class UnitMix {
    /// β per query head (nil: heads unmixed).
    package var heads: [Float]?
    /// β per FFN channel (nil: channels unmixed).
    package var channels: [Float]?
    /// Fills the knockoff rows (`rows × width`) of a site from its real rows, during the forward;
    /// nil keeps what the buffers hold (a backward's recomputation of the same call).
    package var knockoff: ((LinearInputSite, UnsafeBufferPointer<Float>, UnsafeMutableBufferPointer<Float>) -> Void)?
    /// The knockoff attended context, `capacity × queryWidth`.
    package let knockoffContext: TensorStorage
    /// The knockoff `ffn_down` input, `capacity × ffnSize`.
    package let knockoffHidden: TensorStorage

    /// A mix of layer `layer` of `config` for calls of up to `capacity` rows; every β starts at
    /// `initial` on the kinds of unit asked for.
    package init(config: LlamaConfig, layer: Int, capacity: Int, heads: Bool, channels: Bool, initial: Float = 0.5) {
        let shape = config.layers[layer]
        self.heads = heads && shape.hasAttention ? Array(repeating: initial, count: shape.headCount) : nil
        self.channels = channels && shape.hasFFN ? Array(repeating: initial, count: shape.ffnSize) : nil
        knockoffContext = TensorStorage(zeros: heads ? capacity * shape.headCount * config.headDim : 0)
        knockoffHidden = TensorStorage(zeros: channels ? capacity * shape.ffnSize : 0)
    }

    /// The β of `site`'s units and the width of one of them (a head's dimension, or 1), if mixed.
    private func gates(_ site: LinearInputSite, headDim: Int) -> (beta: [Float], unit: Int, knockoff: TensorStorage)? {
        switch site {
        case .attentionContext: heads.map { ($0, headDim, knockoffContext) }
        case .ffnHidden: channels.map { ($0, 1, knockoffHidden) }
        default: nil
        }
    }

    /// Replaces the real rows of `site` (`rows × width`) by their mix, filling the knockoff first
    /// when `knockoff` is set.
    func apply(_ site: LinearInputSite, _ values: UnsafeMutablePointer<Float>, rows: Int, width: Int, headDim: Int) {
        guard let (beta, unit, storage) = gates(site, headDim: headDim) else { return }
        let knockoffs = storage.buffer.baseAddress!
        if let knockoff {
            knockoff(
                site, UnsafeBufferPointer(start: values, count: rows * width),
                UnsafeMutableBufferPointer(start: knockoffs, count: rows * width))
        }
        knockoffs.update(from: values, count: width)
        for r in 1..<max(rows, 1) {
            for j in 0..<width {
                // x + (1 − β)(x̃ − x): exactly x at β = 1.
                let i = r * width + j, x = values[i]
                values[i] = x + (1 - beta[j / unit]) * (knockoffs[i] - x)
            }
        }
    }

    /// The backward of `apply` for `site`: adds `Σ_t (x − x̃)·g` per unit to `gates` (x the real
    /// rows, g = ∂L/∂x̂), then turns `gradient` into `∂L/∂x = β·g` (past position 0, which is not mixed). Without a mix of `site` it adds
    /// `Σ_t x·g`, the unit gates at 1, or with `perToken` `Σ_t |x·g|` (each token's term taken
    /// absolute before the sum, Michel et al.'s head importance; unmixed sites only).
    static func backward(
        _ mix: UnitMix?, _ site: LinearInputSite, real: UnsafePointer<Float>, gradient: UnsafeMutablePointer<Float>,
        rows: Int, width: Int, headDim: Int, perToken: Bool = false, into gates: inout [Double]
    ) {
        let unit = site == .attentionContext ? headDim : 1
        guard let (beta, _, storage) = mix?.gates(site, headDim: headDim) else {
            for r in 0..<rows {
                for u in 0..<(width / unit) {
                    var sum: Float = 0
                    for j in (u * unit)..<((u + 1) * unit) { sum += real[r * width + j] * gradient[r * width + j] }
                    gates[u] += perToken ? Double(abs(sum)) : Double(sum)
                }
            }
            return
        }
        let knockoffs = storage.buffer.baseAddress!
        for r in 0..<rows {
            for u in 0..<(width / unit) {
                var sum: Float = 0
                for j in (u * unit)..<((u + 1) * unit) {
                    let i = r * width + j
                    sum += (real[i] - knockoffs[i]) * gradient[i]
                    if r > 0 { gradient[i] *= beta[u] }
                }
                gates[u] += Double(sum)
            }
        }
    }
}
