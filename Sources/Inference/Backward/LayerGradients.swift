import Kernels
import ModelIO

/// Gradient buffers for the tensors of one decoder layer (those its shape has), each shaped as
/// the tensor (`[out, in]` row-major, q/k rows in the model's own order).
package final class LayerGradients {
    /// The layer's index.
    package let layer: Int
    /// One buffer per tensor the layer has.
    package let tensors: [LlamaTensorNames.Layer: TensorStorage]
    /// One buffer per bias the layer has (q/k/v: their output width; `attn_output`, `ffn_down`:
    /// `[hidden]`).
    package let biases: [LlamaTensorNames.Layer: TensorStorage]

    /// One `[headDim]` buffer per q/k head norm the layer has (Qwen3).
    package let headNorms: [LlamaTensorNames.Layer: TensorStorage]

    /// Zeroed buffers for layer `layer` of `config`, with bias buffers for the parts in `biases`
    /// and head-norm buffers when `config` has q/k norms.
    package init(config: LlamaConfig, layer: Int, biases: Set<LlamaTensorNames.Layer> = []) {
        self.layer = layer
        let shape = config.layers[layer]
        var tensors: [LlamaTensorNames.Layer: TensorStorage] = [:]
        for part in LlamaTensorNames.Layer.allCases where part.exists(in: shape) {
            tensors[part] = TensorStorage(zeros: part.shape(config, layer: layer).reduce(1, *))
        }
        self.tensors = tensors
        headNorms = Dictionary(
            uniqueKeysWithValues: LlamaTensorNames.Layer.allCases.filter {
                config.queryKeyNorm && $0.takesHeadNorm && $0.exists(in: shape)
            }.map { ($0, TensorStorage(zeros: config.headDim)) })
        self.biases = Dictionary(
            uniqueKeysWithValues: biases.filter { $0.exists(in: shape) }.map {
                ($0, TensorStorage(zeros: $0.shape(config, layer: layer, kind: .bias)[0]))
            })
    }

    /// The biases `model` has in layer `layer`.
    package static func biasParts(of model: Model, layer: Int) -> Set<LlamaTensorNames.Layer> {
        Set(LlamaTensorNames.Layer.allCases.filter { model.tensor($0.name(layer: layer, kind: .bias)) != nil })
    }

    /// The buffer of `part` (the layer must have it).
    package subscript(_ part: LlamaTensorNames.Layer) -> UnsafeMutablePointer<Float> {
        tensors[part]!.buffer.baseAddress!
    }

    /// Sets every buffer to zero.
    package func zero() {
        for storage in tensors.values { storage.buffer.update(repeating: 0) }
        for storage in biases.values { storage.buffer.update(repeating: 0) }
        for storage in headNorms.values { storage.buffer.update(repeating: 0) }
    }

    /// Adds the column sums of `gradient` (`rows × width`) to the bias buffer of `part`, if any.
    func addBiasGradient(_ part: LlamaTensorNames.Layer, _ gradient: UnsafePointer<Float>, rows: Int, width: Int) {
        guard let bias = biases[part]?.buffer.baseAddress else { return }
        shears_prune_column_moments(gradient, rows, width, width, bias, nil)
    }
}

/// `∂L/∂g` at `g = 1` for scalar gates on one layer's units: a gate on query head `h` multiplies
/// its attended context (the head's `attn_output` columns), a gate on FFN channel `j` its
/// SwiGLU output (`ffn_down` column `j`). A KV group's gate is the sum of its query heads', and a
/// block's (multiplying both sub-blocks' contributions, output biases included) the sum of all of
/// them plus the biases' share.
package struct LayerGateGradients: Sendable, Equatable {
    /// Per query head (empty without attention).
    package var heads: [Double]
    /// Per FFN channel (empty without an FFN).
    package var channels: [Double]
    /// `Σ b ⊙ ∂L/∂b` over the `attn_output` and `ffn_down` biases: their share of the block gate
    /// (0 without biases).
    package var biases: Double = 0
    /// Query heads per KV head (0 without attention).
    package let groupSize: Int

    /// Zeros for `shape`.
    package init(shape: LayerShape) {
        heads = Array(repeating: 0, count: shape.headCount)
        channels = Array(repeating: 0, count: shape.ffnSize)
        groupSize = shape.groupSize
    }

    /// Per KV group: the sum over the group's query heads.
    package var kvGroups: [Double] {
        guard groupSize > 0 else { return [] }
        return stride(from: 0, to: heads.count, by: groupSize).map { heads[$0..<$0 + groupSize].reduce(0, +) }
    }

    /// The whole block: the sum over all heads and channels, plus the output biases' share.
    package var block: Double { heads.reduce(0, +) + channels.reduce(0, +) + biases }
}
