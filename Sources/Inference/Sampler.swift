import Foundation
import SeededRandom

/// How the next token is chosen from the logits.
public struct SamplingOptions: Sendable, Equatable {
    /// 0 picks the argmax (greedy); otherwise logits are divided by it before sampling.
    public var temperature: Float
    /// Keep only the `topK` most likely tokens (0: no limit).
    public var topK: Int
    /// Keep the smallest set of most likely tokens whose probability reaches `topP` (1: no limit).
    public var topP: Float
    /// Seed of the random generator (same seed, same choices).
    public var seed: UInt64

    /// Creates options; the default is greedy decoding.
    public init(temperature: Float = 0, topK: Int = 0, topP: Float = 1, seed: UInt64 = 0) {
        self.temperature = temperature
        self.topK = topK
        self.topP = topP
        self.seed = seed
    }

    /// Checks the numbers.
    ///
    /// - Throws: `InferenceError` naming the bad option.
    public func validate() throws(InferenceError) {
        guard temperature.isFinite && temperature >= 0 else {
            throw InferenceError("temperature \(temperature) must be a non-negative number")
        }
        guard topK >= 0 else { throw InferenceError("top-k \(topK) must not be negative") }
        guard topP > 0 && topP <= 1 else { throw InferenceError("top-p \(topP) must be in (0, 1]") }
    }
}

/// Picks tokens from logits: argmax when greedy, else temperature, top-k and top-p sampling
/// with a seeded SplitMix64 generator.
struct Sampler {
    let options: SamplingOptions
    private var generator: SplitMix64

    init(options: SamplingOptions) {
        self.options = options
        generator = SplitMix64(seed: options.seed)
    }

    /// The index of the largest logit (the lowest index on ties).
    static func argmax(_ logits: [Float]) -> Int {
        var best = 0
        for i in logits.indices where logits[i] > logits[best] { best = i }
        return best
    }

    mutating func next(_ logits: [Float]) -> Int {
        if options.temperature == 0 { return Self.argmax(logits) }
        let order =
            options.topK > 0 && options.topK < logits.count
            ? Self.largest(options.topK, of: logits)
            : logits.indices.sorted { logits[$0] > logits[$1] }
        let top = Double(logits[order[0]])
        var weights = order.map { exp((Double(logits[$0]) - top) / Double(options.temperature)) }
        let total = weights.reduce(0, +)
        var cumulative = 0.0
        var kept = weights.count
        for (i, w) in weights.enumerated() {
            cumulative += w / total
            if cumulative >= Double(options.topP) {
                kept = i + 1
                break
            }
        }
        weights.removeLast(weights.count - kept)
        let pick = generator.unit() * weights.reduce(0, +)
        var running = 0.0
        for (i, w) in weights.enumerated() {
            running += w
            if pick < running { return order[i] }
        }
        return order[kept - 1]
    }

    /// Indices of the `k` largest logits, largest first (ties: lower index first), in O(n·k)
    /// worst case but O(n) for the usual small k, without sorting the whole vocabulary.
    static func largest(_ k: Int, of logits: [Float]) -> [Int] {
        var best: [Int] = []
        best.reserveCapacity(k + 1)
        for i in logits.indices {
            if best.count == k, logits[i] <= logits[best[k - 1]] { continue }
            var slot = best.count
            while slot > 0 && logits[best[slot - 1]] < logits[i] { slot -= 1 }
            best.insert(i, at: slot)
            if best.count > k { best.removeLast() }
        }
        return best
    }
}
