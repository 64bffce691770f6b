import Foundation
import ModelIO

/// One position's base log-probabilities in the compact form of llama.cpp's
/// `--kl-divergence-base` files: two Float32 (scale, lowest log-probability kept) followed by one
/// UInt16 per vocabulary entry, padded to an even count, so `length(vocab:)` UInt16 in all.
///
/// Entry `i` stands for the log-probability `scale · q[i] + lowest`; only logits within 16 nats of
/// the top are resolved (the others share the lowest code), and `divergence` counts only entries
/// above −16 nats, so both tools compute the same KL divergence from the same record.
package enum LogProbRecord {
    /// UInt16 per record for a vocabulary of `vocab` entries.
    package static func length(vocab: Int) -> Int { LlamaCppLogitsFile.recordLength(vocab: vocab) }

    /// The natural-log window resolved below the top logit.
    package static let window: Float = 16

    /// Encodes the log-softmax of `logits` (`vocab` floats) into `record` and returns the
    /// negative log-likelihood of `target`.
    package static func encode(
        _ logits: UnsafePointer<Float>, vocab: Int, target: Int, into record: UnsafeMutablePointer<UInt16>
    ) -> Double {
        var top = logits[0], bottom = logits[0]
        for i in 1..<vocab {
            top = max(top, logits[i])
            bottom = min(bottom, logits[i])
        }
        bottom = max(bottom, top - window)
        var sum = 0.0
        for i in 0..<vocab { sum += Double(expf(logits[i] - top)) }
        let logSum = Float(log(sum))
        let scale = (top - bottom) / 65535
        let raw = UnsafeMutableRawPointer(record)
        raw.storeBytes(of: scale, as: Float.self)
        raw.storeBytes(of: bottom - top - logSum, toByteOffset: 4, as: Float.self)
        let codes = record + 4
        if scale != 0 {
            let inverse = 1 / scale
            for i in 0..<vocab {
                codes[i] = logits[i] > bottom ? UInt16((inverse * (logits[i] - bottom)).rounded(.toNearestOrEven)) : 0
            }
        } else {
            codes.update(repeating: 0, count: vocab)
        }
        return Double(top + logSum - logits[target])
    }

    /// The log-probability of entry `index` in `record`.
    package static func logProbability(_ record: UnsafePointer<UInt16>, _ index: Int) -> Float {
        let raw = UnsafeRawPointer(record)
        let scale = raw.loadUnaligned(as: Float.self)
        let lowest = raw.loadUnaligned(fromByteOffset: 4, as: Float.self)
        return scale * Float(record[4 + index]) + lowest
    }

    /// Compares the distribution of `logits` (`vocab` floats) with the base `record` at a position
    /// whose true next token is `target`, adding the outcome to `statistics`; returns
    /// KLD(base‖model) and Δp = p(target) − p_base(target) for this position.
    package static func divergence(
        _ logits: UnsafePointer<Float>, vocab: Int, base record: UnsafePointer<UInt16>, target: Int,
        into statistics: inout DivergenceSums
    ) -> (kld: Double, deltaP: Float) {
        var top = logits[0]
        var argmax = 0
        for i in 1..<vocab where logits[i] > top {
            top = logits[i]
            argmax = i
        }
        var sum = 0.0
        for i in 0..<vocab { sum += Double(expf(logits[i] - top)) }
        let logSum = Float(log(sum))
        let raw = UnsafeRawPointer(record)
        let scale = raw.loadUnaligned(as: Float.self)
        let lowest = raw.loadUnaligned(fromByteOffset: 4, as: Float.self)
        let codes = record + 4

        let nll = top + logSum - logits[target]
        let nllBase = -(scale * Float(codes[target]) + lowest)
        let normaliser = top + logSum
        var kld = 0.0
        var baseArgmax = 0
        var baseTop: Float = 0
        for i in 0..<vocab {
            let logBase = scale * Float(codes[i]) + lowest
            if i == 0 || logBase > baseTop {
                baseTop = logBase
                baseArgmax = i
            }
            if logBase > -window {
                kld += Double(expf(logBase) * (logBase - logits[i] + normaliser))
            }
        }
        let deltaP = expf(-nll) - expf(-nllBase)
        statistics.add(
            nll: Double(nll), nllBase: Double(nllBase), kld: kld, deltaP: deltaP, sameTop: argmax == baseArgmax)
        return (kld, deltaP)
    }
}
