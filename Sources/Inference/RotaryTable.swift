import Foundation
import ModelIO

/// Cosines and sines of the rotary position embedding for positions `0..<positions`:
/// entry `(p, i)` is the angle `p * base^(-2i/headDim) / divisor(i)`, computed in Double, stored as
/// Float, where the divisors are the RoPE scaling's (`RopeScaling.divisors`; none: plain RoPE);
/// both are multiplied by the scaling's `attentionFactor` (YaRN; otherwise 1).
struct RotaryTable {
    /// `positions × headDim/2` cosines.
    let cosines: TensorStorage
    /// `positions × headDim/2` sines.
    let sines: TensorStorage

    init(positions: Int, headDim: Int, base: Float, scaling: RopeScaling) {
        let half = headDim / 2
        let divisors = scaling.divisors(headDim: headDim, base: base)
        let frequencies = (0..<half).map { i in
            let plain = pow(Double(base), -2 * Double(i) / Double(headDim))
            return divisors.map { plain / Double($0[i]) } ?? plain
        }
        let scale = Double(scaling.attentionFactor)
        cosines = TensorStorage(zeros: positions * half)
        sines = TensorStorage(zeros: positions * half)
        for position in 0..<positions {
            for i in 0..<half {
                let angle = Double(position) * frequencies[i]
                cosines.buffer[position * half + i] = Float(cos(angle) * scale)
                sines.buffer[position * half + i] = Float(sin(angle) * scale)
            }
        }
    }
}
