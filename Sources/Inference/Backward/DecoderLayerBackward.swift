import ModelIO

/// The reverse pass of `DecoderLayer.forward` for one sequence from position 0, consuming the
/// forward's `LayerActivationRecord` (no second copy of the forward math): FFN (down, SwiGLU,
/// gate/up, RMSNorm, residual), then attention (output projection, causal GQA attention,
/// inverse RoPE, q/k head norms, q/k/v with their biases' gradients, RMSNorm, residual). Products are OpenBLAS calls; the forward kernels
/// (softmax, RoPE) are reused.
///
/// Not thread-safe: one instance per thread.
package final class DecoderLayerBackward {
    /// The model shape the buffers fit.
    let config: LlamaConfig
    /// The most positions a call may have.
    package let capacity: Int
    /// `dL/d(SwiGLU output)` then `dL/dgate`, and `dL/dup`, `capacity × maxFFN` each.
    private let hiddenGradient, upGradient: TensorStorage
    /// `dL/d(normed input)`, `capacity × hidden`.
    private let normedGradient: TensorStorage
    /// `dL/d(context)` and `dL/dq`, `capacity × maxQueryWidth` each.
    private let contextGradient, queryGradient: TensorStorage
    /// `dL/dk`, `dL/dv`, `capacity × maxKVWidth` each.
    private let keyGradient, valueGradient: TensorStorage
    /// `dL/dq` and `dL/dk` before the q/k head norms (Qwen3; empty without them).
    private let projectedQueryGradient, projectedKeyGradient: TensorStorage
    /// The attention backward's scratch.
    private let attention: AttentionBackward
    /// The inverse rotation.
    private let rotary: RotaryBackward

    /// Buffers for calls of up to `capacity` rows on any layer of `config`.
    package init(config: LlamaConfig, capacity: Int) {
        self.config = config
        self.capacity = capacity
        hiddenGradient = TensorStorage(zeros: capacity * config.maxFFNSize)
        upGradient = TensorStorage(zeros: capacity * config.maxFFNSize)
        normedGradient = TensorStorage(zeros: capacity * config.hiddenSize)
        contextGradient = TensorStorage(zeros: capacity * config.maxQueryWidth)
        queryGradient = TensorStorage(zeros: capacity * config.maxQueryWidth)
        keyGradient = TensorStorage(zeros: capacity * config.maxKVWidth)
        valueGradient = TensorStorage(zeros: capacity * config.maxKVWidth)
        projectedQueryGradient = TensorStorage(zeros: config.queryKeyNorm ? capacity * config.maxQueryWidth : 0)
        projectedKeyGradient = TensorStorage(zeros: config.queryKeyNorm ? capacity * config.maxKVWidth : 0)
        attention = AttentionBackward(headDim: config.headDim, capacity: capacity, window: config.slidingWindow)
        rotary = RotaryBackward(
            positions: capacity, headDim: config.headDim, base: config.ropeTheta, scaling: config.ropeScaling)
    }

    /// Turns `gradient` (`rows × hidden`) from `dL/d(layer output)` into `dL/d(layer input)` in
    /// place, for the layer `weights` whose forward call over the same rows filled `record`.
    /// Writes (or adds, when `accumulate`) the weight gradients into `weights`' buffers when
    /// `weightGradients` is given, and adds the unit-gate gradients to `gates` when given; with
    /// `mix` (which needs `gates`), the gradients of its β instead, through the mixed units;
    /// `perToken` adds each token's gate term as its absolute value (`UnitMix.backward`).
    package func run(
        _ weights: LayerWeights, record: LayerActivationRecord, rows: Int, gradient: UnsafeMutablePointer<Float>,
        weightGradients: LayerGradients?, accumulate: Bool, gates: UnsafeMutablePointer<LayerGateGradients>?,
        mix: UnitMix? = nil, perToken: Bool = false
    ) {
        precondition(mix == nil || gates != nil, "layer backward: a unit mix needs gate gradients")
        precondition(rows <= capacity, "layer backward: \(rows) rows exceed the capacity \(capacity)")
        if let weightGradients, !accumulate { weightGradients.zero() }
        func site(_ site: LayerActivationRecord.Site) -> UnsafeMutablePointer<Float> {
            record.storages[site]!.buffer.baseAddress!
        }
        let hidden = config.hiddenSize, epsilon = config.rmsNormEpsilon
        let dNormed = normedGradient.buffer.baseAddress!
        let shape = weights.shape
        if let w = weights.ffn {
            let ffn = shape.ffnSize
            let dz = hiddenGradient.buffer.baseAddress!, dUp = upGradient.buffer.baseAddress!
            let z = site(.ffnHidden), normed = site(.ffnNormed)
            LinearBackward.inputGradient(gradient, rows: rows, outputs: hidden, weight: w.down, inputs: ffn, into: dz)
            if let g = weightGradients {
                LinearBackward.weightGradient(
                    gradient, rows: rows, outputs: hidden, input: z, inputs: ffn, into: g[.down], accumulate: true)
                g.addBiasGradient(.down, gradient, rows: rows, width: hidden)
            }
            if let gates {
                UnitMix.backward(
                    mix, .ffnHidden, real: z, gradient: dz, rows: rows, width: ffn, headDim: config.headDim,
                    perToken: perToken, into: &gates.pointee.channels)
                if let bias = w.downBias { gates.pointee.biases += Self.biasTerm(bias, gradient, rows, hidden) }
            }
            SwiGLUBackward.backward(
                gate: site(.gate), up: site(.up), gradient: dz, upGradient: dUp, count: rows * ffn)
            if let g = weightGradients {
                LinearBackward.weightGradient(
                    dz, rows: rows, outputs: ffn, input: normed, inputs: hidden, into: g[.gate], accumulate: true)
                LinearBackward.weightGradient(
                    dUp, rows: rows, outputs: ffn, input: normed, inputs: hidden, into: g[.up], accumulate: true)
            }
            LinearBackward.inputGradient(dz, rows: rows, outputs: ffn, weight: w.gate, inputs: hidden, into: dNormed)
            LinearBackward.inputGradient(
                dUp, rows: rows, outputs: ffn, weight: w.up, inputs: hidden, into: dNormed, accumulate: true)
            RMSNormBackward.backward(
                x: site(.midResidual), weight: w.norm, outputGradient: dNormed, rows: rows, n: hidden,
                epsilon: epsilon, addingInputGradientTo: gradient, addingWeightGradientTo: weightGradients?[.ffnNorm])
        }
        if let w = weights.attention {
            let headDim = config.headDim
            let queryWidth = shape.headCount * headDim, kvWidth = shape.kvHeadCount * headDim
            let dContext = contextGradient.buffer.baseAddress!, dq = queryGradient.buffer.baseAddress!
            let dk = keyGradient.buffer.baseAddress!, dv = valueGradient.buffer.baseAddress!
            let context = site(.attended), normed = site(.attentionNormed)
            LinearBackward.inputGradient(
                gradient, rows: rows, outputs: hidden, weight: w.output, inputs: queryWidth, into: dContext)
            if let g = weightGradients {
                LinearBackward.weightGradient(
                    gradient, rows: rows, outputs: hidden, input: context, inputs: queryWidth,
                    into: g[.attentionOutput], accumulate: true)
                g.addBiasGradient(.attentionOutput, gradient, rows: rows, width: hidden)
            }
            if let gates {
                UnitMix.backward(
                    mix, .attentionContext, real: context, gradient: dContext, rows: rows, width: queryWidth,
                    headDim: headDim, perToken: perToken, into: &gates.pointee.heads)
                if let bias = w.outputBias { gates.pointee.biases += Self.biasTerm(bias, gradient, rows, hidden) }
            }
            attention.run(
                heads: shape.headCount, kvHeads: shape.kvHeadCount, rows: rows, queries: site(.queries),
                keys: site(.keys), values: site(.values), attended: context, attendedGradient: dContext,
                queryGradient: dq, keyGradient: dk, valueGradient: dv)
            rotary.apply(dq, rows: rows, heads: shape.headCount)
            rotary.apply(dk, rows: rows, heads: shape.kvHeadCount)
            // Through the head norms: each head's row of headDim values is one RMSNorm row.
            func throughHeadNorm(
                _ norm: UnsafePointer<Float>?, _ input: LayerActivationRecord.Site,
                _ gradient: UnsafeMutablePointer<Float>,
                scratch: TensorStorage, heads: Int, kind: LlamaTensorNames.Layer
            ) {
                guard let norm else { return }
                let count = rows * heads * headDim, projected = scratch.buffer.baseAddress!
                projected.update(repeating: 0, count: count)
                RMSNormBackward.backward(
                    x: site(input), weight: norm, outputGradient: gradient, rows: rows * heads, n: headDim,
                    epsilon: epsilon, addingInputGradientTo: projected,
                    addingWeightGradientTo: weightGradients?.headNorms[kind]?.buffer.baseAddress)
                gradient.update(from: projected, count: count)
            }
            throughHeadNorm(
                w.queryNorm, .projectedQueries, dq, scratch: projectedQueryGradient, heads: shape.headCount,
                kind: .query)
            throughHeadNorm(
                w.keyNorm, .projectedKeys, dk, scratch: projectedKeyGradient, heads: shape.kvHeadCount, kind: .key)
            if let g = weightGradients {
                g.addBiasGradient(.query, dq, rows: rows, width: queryWidth)
                g.addBiasGradient(.key, dk, rows: rows, width: kvWidth)
                g.addBiasGradient(.value, dv, rows: rows, width: kvWidth)
                LinearBackward.weightGradient(
                    dq, rows: rows, outputs: queryWidth, input: normed, inputs: hidden, into: g[.query],
                    accumulate: true)
                LinearBackward.weightGradient(
                    dk, rows: rows, outputs: kvWidth, input: normed, inputs: hidden, into: g[.key], accumulate: true)
                LinearBackward.weightGradient(
                    dv, rows: rows, outputs: kvWidth, input: normed, inputs: hidden, into: g[.value], accumulate: true)
            }
            LinearBackward.inputGradient(
                dq, rows: rows, outputs: queryWidth, weight: w.query, inputs: hidden, into: dNormed)
            LinearBackward.inputGradient(
                dk, rows: rows, outputs: kvWidth, weight: w.key, inputs: hidden, into: dNormed, accumulate: true)
            LinearBackward.inputGradient(
                dv, rows: rows, outputs: kvWidth, weight: w.value, inputs: hidden, into: dNormed, accumulate: true)
            RMSNormBackward.backward(
                x: site(.input), weight: w.norm, outputGradient: dNormed, rows: rows, n: hidden,
                epsilon: epsilon, addingInputGradientTo: gradient,
                addingWeightGradientTo: weightGradients?[.attentionNorm])
        }
    }

    /// `Σ_i b_i · Σ_r dY_ri`: the part of a sub-block gate's gradient its output bias carries.
    private static func biasTerm(
        _ bias: UnsafePointer<Float>, _ gradient: UnsafePointer<Float>, _ rows: Int, _ width: Int
    ) -> Double {
        var sum = 0.0
        for r in 0..<rows {
            for i in 0..<width { sum += Double(bias[i] * gradient[r * width + i]) }
        }
        return sum
    }
}
