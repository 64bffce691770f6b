import Foundation
import ModelIO

/// Cosines and sines of the rotary position embedding for positions `0..<positions`:
/// entry `(p, i)` is the angle `p * base^(-2i/headDim)`, computed in Double, stored as Float.
struct RotaryTable {
    /// `positions × headDim/2` cosines.
    let cosines: TensorStorage
    /// `positions × headDim/2` sines.
    let sines: TensorStorage

    init(positions: Int, headDim: Int, base: Float) {
        let half = headDim / 2
        let frequencies = (0..<half).map { pow(Double(base), -2 * Double($0) / Double(headDim)) }
        cosines = TensorStorage(zeros: positions * half)
        sines = TensorStorage(zeros: positions * half)
        for position in 0..<positions {
            for i in 0..<half {
                let angle = Double(position) * frequencies[i]
                cosines.buffer[position * half + i] = Float(cos(angle))
                sines.buffer[position * half + i] = Float(sin(angle))
            }
        }
    }
}
