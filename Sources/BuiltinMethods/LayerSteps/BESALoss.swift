/// BESA's objective for one window: the reconstruction error of the block's output, normalised
/// per output channel by the dense output's norm, plus the sparsity penalty `β·((S − p)/p)²`.
package enum BESALoss {
    /// `Σ_{t,c} ((R − Y)_{t,c}/ν_c)²/hidden` with `ν_c` the norm of `R`'s channel `c` over the
    /// rows, and its gradient with respect to `Y` (channels where `R` is all zero are left out).
    package static func reconstruction(
        _ output: [Float], _ reference: UnsafeBufferPointer<Float>, rows: Int, hidden: Int
    ) -> (loss: Double, seed: [Float]) {
        var norms = [Double](repeating: 0, count: hidden)
        for t in 0..<rows {
            for c in 0..<hidden { norms[c] += Double(reference[t * hidden + c]) * Double(reference[t * hidden + c]) }
        }
        let scale = norms.map { $0 > 0 ? 1 / $0 : 0 }
        var loss = 0.0
        var seed = [Float](repeating: 0, count: rows * hidden)
        for t in 0..<rows {
            for c in 0..<hidden {
                let difference = Double(reference[t * hidden + c]) - Double(output[t * hidden + c])
                loss += difference * difference * scale[c]
                seed[t * hidden + c] = Float(-2 * difference * scale[c] / Double(hidden))
            }
        }
        return (loss / Double(hidden), seed)
    }

    /// `β·((S − p)/p)²` for the block's expected sparsity `S` and target `p`.
    package static func penalty(_ sparsity: Double, target: Double, beta: Double) -> Double {
        let relative = (sparsity - target) / target
        return beta * relative * relative
    }

    /// `∂/∂S` of `penalty`: `2β(S − p)/p²`.
    package static func penaltyDerivative(_ sparsity: Double, target: Double, beta: Double) -> Double {
        2 * beta * (sparsity - target) / (target * target)
    }
}
