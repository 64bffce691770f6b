import Foundation
import ModelIO

/// A deliberately plain Double-precision LLaMA forward pass (straightforward loops, no cache),
/// the yardstick for the optimised `ForwardPass` and `DecoderLayer` and, through finite
/// differences, for the backward pass; layers may differ in shape, lack attention or FFN, and carry
/// q/k/v, `attn_output` and `ffn_down` biases and q/k head norms.
/// Every weight can be overridden by name (Double values) to perturb it.
enum ReferenceForward {
    /// `y = W·x` for `W` `[outputs, x.count]` row-major.
    static func matvec(_ w: [Double], _ x: [Double], outputs: Int) -> [Double] {
        (0..<outputs).map { o in (0..<x.count).reduce(0.0) { $0 + w[o * x.count + $1] * x[$1] } }
    }

    /// `x / sqrt(mean(x²) + epsilon) ⊙ w`.
    static func rmsNorm(_ x: [Double], _ w: [Double], epsilon: Double) -> [Double] {
        let meanSquare = x.reduce(0) { $0 + $1 * $1 } / Double(x.count)
        let inv = 1 / (meanSquare + epsilon).squareRoot()
        return (0..<x.count).map { x[$0] * inv * w[$0] }
    }

    /// RoPE in llama.cpp's adjacent-pair layout for `heads` heads of `headDim` at `position`, each
    /// frequency divided by its `divisors` entry when given (RoPE scaling).
    static func rope(
        _ x: inout [Double], heads: Int, headDim: Int, base: Double, position: Int, divisors: [Float]? = nil,
        scale: Double = 1
    ) {
        for h in 0..<heads {
            for i in 0..<(headDim / 2) {
                let theta =
                    Double(position) * pow(base, -2 * Double(i) / Double(headDim)) / Double(divisors?[i] ?? 1)
                let a = x[h * headDim + 2 * i], b = x[h * headDim + 2 * i + 1]
                x[h * headDim + 2 * i] = scale * (a * cos(theta) - b * sin(theta))
                x[h * headDim + 2 * i + 1] = scale * (a * sin(theta) + b * cos(theta))
            }
        }
    }

    /// Causal GQA attention from position 0: query head `h` reads KV head `h / (heads / kvHeads)`;
    /// with a `window`, position `p` reads keys `p − window + 1 ... p` only.
    static func attention(
        queries: [[Double]], keys: [[Double]], values: [[Double]], heads: Int, kvHeads: Int, headDim: Int,
        window: Int? = nil
    ) -> [[Double]] {
        let group = heads / kvHeads
        return (0..<queries.count).map { position in
            var attended = [Double](repeating: 0, count: heads * headDim)
            let first = window.map { max(0, position - $0 + 1) } ?? 0
            for h in 0..<heads {
                let g = h / group
                var scores = (first...position).map { j in
                    (0..<headDim).reduce(0.0) { $0 + queries[position][h * headDim + $1] * keys[j][g * headDim + $1] }
                        / Double(headDim).squareRoot()
                }
                let m = scores.max()!
                scores = scores.map { exp($0 - m) }
                let total = scores.reduce(0, +)
                for j in first...position {
                    for d in 0..<headDim {
                        attended[h * headDim + d] += scores[j - first] / total * values[j][g * headDim + d]
                    }
                }
            }
            return attended
        }
    }

    /// `silu(gate) ⊙ up`.
    static func swiGLU(_ gate: [Double], _ up: [Double]) -> [Double] {
        (0..<gate.count).map { gate[$0] / (1 + exp(-gate[$0])) * up[$0] }
    }

    /// The weights of `model` in Double, `overrides` taking precedence by name.
    static func weights(_ model: Model, _ overrides: [String: [Double]] = [:]) -> (String) -> [Double] {
        { name in overrides[name] ?? model.tensor(name)!.storage.array.map(Double.init) }
    }

    /// Decoder layer `layer` of `model` over `states` (one sequence from position 0);
    /// `contextScale(position, head)` multiplies each query head's attended context (a head gate
    /// per token).
    static func layer(
        _ model: Model, _ layer: Int, _ input: [[Double]], weight: (String) -> [Double],
        contextScale: ((Int, Int) -> Double)? = nil
    ) -> [[Double]] {
        let c = model.config, shape = c.layers[layer]
        var states = input
        typealias Part = LlamaTensorNames.Layer
        let w = Dictionary(
            uniqueKeysWithValues: Part.allCases.filter { $0.exists(in: shape) }.map {
                ($0, weight($0.name(layer: layer)))
            })
        let epsilon = Double(c.rmsNormEpsilon)
        func bias(_ part: Part) -> [Double] {
            let name = part.name(layer: layer, kind: .bias)
            let width = part.shape(c, layer: layer, kind: .bias)[0]
            return model.tensor(name) == nil ? [Double](repeating: 0, count: width) : weight(name)
        }
        /// `x` plus `part`'s bias, each head then RMS-normed by `part`'s head norm if it has one.
        func project(_ part: Part, _ x: [Double], heads: Int) -> [Double] {
            var y = zip(matvec(w[part]!, x, outputs: heads * c.headDim), bias(part)).map { $0 + $1 }
            let normName = part.name(layer: layer, kind: .headNorm)
            guard model.tensor(normName) != nil else { return y }
            let norm = weight(normName), d = c.headDim
            for h in 0..<heads {
                y.replaceSubrange(
                    h * d..<(h + 1) * d, with: rmsNorm(Array(y[h * d..<(h + 1) * d]), norm, epsilon: epsilon))
            }
            return y
        }
        if shape.hasAttention {
            var keys: [[Double]] = [], values: [[Double]] = [], queries: [[Double]] = []
            for (position, state) in states.enumerated() {
                let x = rmsNorm(state, w[.attentionNorm]!, epsilon: epsilon)
                var q = project(.query, x, heads: shape.headCount)
                var k = project(.key, x, heads: shape.kvHeadCount)
                let divisors = c.ropeScaling.divisors(headDim: c.headDim, base: c.ropeTheta)
                let base = Double(c.ropeTheta), scale = Double(c.ropeScaling.attentionFactor)
                rope(
                    &q, heads: shape.headCount, headDim: c.headDim, base: base, position: position, divisors: divisors,
                    scale: scale)
                rope(
                    &k, heads: shape.kvHeadCount, headDim: c.headDim, base: base, position: position,
                    divisors: divisors, scale: scale)
                queries.append(q)
                keys.append(k)
                values.append(project(.value, x, heads: shape.kvHeadCount))
            }
            var attended = attention(
                queries: queries, keys: keys, values: values, heads: shape.headCount, kvHeads: shape.kvHeadCount,
                headDim: c.headDim, window: c.slidingWindow)
            for position in 0..<states.count {
                if let contextScale {
                    for i in 0..<shape.headCount * c.headDim {
                        attended[position][i] *= contextScale(position, i / c.headDim)
                    }
                }
                let o = matvec(w[.attentionOutput]!, attended[position], outputs: c.hiddenSize)
                let b = bias(.attentionOutput)
                for i in 0..<c.hiddenSize { states[position][i] += o[i] + b[i] }
            }
        }
        if shape.hasFFN {
            for position in 0..<states.count {
                let x = rmsNorm(states[position], w[.ffnNorm]!, epsilon: epsilon)
                let gate = matvec(w[.gate]!, x, outputs: shape.ffnSize)
                let up = matvec(w[.up]!, x, outputs: shape.ffnSize)
                let down = matvec(w[.down]!, swiGLU(gate, up), outputs: c.hiddenSize)
                let b = bias(.down)
                for i in 0..<c.hiddenSize { states[position][i] += down[i] + b[i] }
            }
        }
        return states
    }

    /// Logits of every position, `tokens.count` rows of `vocab` values; `contextScale(layer,
    /// position, head)` as `layer` takes it.
    static func logits(
        _ model: Model, _ tokens: [Int32], overrides: [String: [Double]] = [:],
        contextScale: ((Int, Int, Int) -> Double)? = nil
    ) -> [[Double]] {
        let c = model.config
        let weight = weights(model, overrides)
        let embedding = weight(LlamaTensorNames.tokenEmbedding)
        var states = tokens.map { id in Array(embedding[Int(id) * c.hiddenSize..<(Int(id) + 1) * c.hiddenSize]) }
        for layer in 0..<c.layerCount {
            states = self.layer(
                model, layer, states, weight: weight,
                contextScale: contextScale.map { scale in { scale(layer, $0, $1) } })
        }
        let tied = model.tensor(LlamaTensorNames.output) == nil
        let output = tied ? embedding : weight(LlamaTensorNames.output)
        let norm = weight(LlamaTensorNames.outputNorm)
        return states.map {
            matvec(output, rmsNorm($0, norm, epsilon: Double(c.rmsNormEpsilon)), outputs: c.vocabSize)
        }
    }

    /// Negative log-likelihoods of predicting token t+1 at each position t, from full logits.
    static func negativeLogLikelihoods(logits: [[Double]], tokens: [Int32]) -> [Double] {
        (0..<(tokens.count - 1)).map { t in
            let row = logits[t]
            let m = row.max()!
            return m + log(row.reduce(0) { $0 + exp($1 - m) }) - row[Int(tokens[t + 1])]
        }
    }

    /// The mean next-token NLL over every predicted token of every window.
    static func meanLoss(_ model: Model, _ windows: [[Int32]], overrides: [String: [Double]] = [:]) -> Double {
        var total = 0.0, count = 0
        for window in windows {
            let nll = negativeLogLikelihoods(logits: logits(model, window, overrides: overrides), tokens: window)
            total += nll.reduce(0, +)
            count += nll.count
        }
        return total / Double(count)
    }
}
