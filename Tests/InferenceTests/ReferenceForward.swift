import Foundation
import ModelIO

/// A deliberately plain Double-precision LLaMA forward pass (straightforward loops, no cache),
/// the yardstick for the optimised `ForwardPass` and `DecoderLayer`; layers may differ in shape,
/// lack attention or FFN, and carry `attn_output`/`ffn_down` biases.
enum ReferenceForward {
    /// Logits of every position, `tokens.count` rows of `vocab` values.
    static func logits(_ model: Model, _ tokens: [Int32]) -> [[Double]] {
        let c = model.config
        func weight(_ name: String) -> [Double] { model.tensor(name)!.storage.array.map(Double.init) }
        func matvec(_ w: [Double], _ x: [Double], outputs: Int) -> [Double] {
            (0..<outputs).map { o in (0..<x.count).reduce(0.0) { $0 + w[o * x.count + $1] * x[$1] } }
        }
        func rmsNorm(_ x: [Double], _ w: [Double]) -> [Double] {
            let meanSquare = x.reduce(0) { $0 + $1 * $1 } / Double(x.count)
            let inv = 1 / (meanSquare + Double(c.rmsNormEpsilon)).squareRoot()
            return (0..<x.count).map { x[$0] * inv * w[$0] }
        }
        func rope(_ x: inout [Double], heads: Int, position: Int) {
            for h in 0..<heads {
                for i in 0..<(c.headDim / 2) {
                    let theta = Double(position) * pow(Double(c.ropeTheta), -2 * Double(i) / Double(c.headDim))
                    let a = x[h * c.headDim + 2 * i], b = x[h * c.headDim + 2 * i + 1]
                    x[h * c.headDim + 2 * i] = a * cos(theta) - b * sin(theta)
                    x[h * c.headDim + 2 * i + 1] = a * sin(theta) + b * cos(theta)
                }
            }
        }
        let embedding = weight(LlamaTensorNames.tokenEmbedding)
        var states = tokens.map { id in Array(embedding[Int(id) * c.hiddenSize..<(Int(id) + 1) * c.hiddenSize]) }
        for (layer, shape) in c.layers.enumerated() {
            typealias Part = LlamaTensorNames.Layer
            let w = Dictionary(
                uniqueKeysWithValues: Part.allCases.filter { $0.exists(in: shape) }.map {
                    ($0, weight($0.name(layer: layer)))
                })
            func bias(_ part: Part) -> [Double] {
                model.tensor(part.name(layer: layer, kind: .bias))?.storage.array.map(Double.init)
                    ?? [Double](repeating: 0, count: c.hiddenSize)
            }
            let outputBias = bias(.attentionOutput), downBias = bias(.down)
            let queryWidth = c.queryWidth(layer), kvWidth = c.kvWidth(layer)
            if shape.hasAttention {
                var keys: [[Double]] = [], values: [[Double]] = [], queries: [[Double]] = []
                for (position, state) in states.enumerated() {
                    let x = rmsNorm(state, w[.attentionNorm]!)
                    var q = matvec(w[.query]!, x, outputs: queryWidth)
                    var k = matvec(w[.key]!, x, outputs: kvWidth)
                    rope(&q, heads: shape.headCount, position: position)
                    rope(&k, heads: shape.kvHeadCount, position: position)
                    queries.append(q)
                    keys.append(k)
                    values.append(matvec(w[.value]!, x, outputs: kvWidth))
                }
                for position in 0..<states.count {
                    var attended = [Double](repeating: 0, count: queryWidth)
                    for h in 0..<shape.headCount {
                        let g = h / shape.groupSize
                        var scores = (0...position).map { j in
                            (0..<c.headDim).reduce(0.0) {
                                $0 + queries[position][h * c.headDim + $1] * keys[j][g * c.headDim + $1]
                            }
                                / Double(c.headDim).squareRoot()
                        }
                        let m = scores.max()!
                        scores = scores.map { exp($0 - m) }
                        let total = scores.reduce(0, +)
                        for j in 0...position {
                            for d in 0..<c.headDim {
                                attended[h * c.headDim + d] += scores[j] / total * values[j][g * c.headDim + d]
                            }
                        }
                    }
                    let o = matvec(w[.attentionOutput]!, attended, outputs: c.hiddenSize)
                    for i in 0..<c.hiddenSize { states[position][i] += o[i] + outputBias[i] }
                }
            }
            if shape.hasFFN {
                for position in 0..<states.count {
                    let x = rmsNorm(states[position], w[.ffnNorm]!)
                    let gate = matvec(w[.gate]!, x, outputs: shape.ffnSize)
                    let up = matvec(w[.up]!, x, outputs: shape.ffnSize)
                    let inner = (0..<shape.ffnSize).map { gate[$0] / (1 + exp(-gate[$0])) * up[$0] }
                    let down = matvec(w[.down]!, inner, outputs: c.hiddenSize)
                    for i in 0..<c.hiddenSize { states[position][i] += down[i] + downBias[i] }
                }
            }
        }
        let output = model.outputProjection.storage.array.map(Double.init)
        let norm = weight(LlamaTensorNames.outputNorm)
        return states.map { matvec(output, rmsNorm($0, norm), outputs: c.vocabSize) }
    }

    /// Negative log-likelihoods of predicting token t+1 at each position t, from full logits.
    static func negativeLogLikelihoods(logits: [[Double]], tokens: [Int32]) -> [Double] {
        (0..<(tokens.count - 1)).map { t in
            let row = logits[t]
            let m = row.max()!
            return m + log(row.reduce(0) { $0 + exp($1 - m) }) - row[Int(tokens[t + 1])]
        }
    }
}
