import ModelIO

/// Pointers to one decoder layer's weights, each matrix `[out, in]` row-major, and its shape.
package struct LayerWeights {
    /// The attention sub-block's weights.
    package struct Attention {
        let norm, query, key, value, output: UnsafePointer<Float>
        /// `attn_output.bias`, added to the attention's output (nil: none).
        let outputBias: UnsafePointer<Float>?
        /// q/k/v biases, added to the projections before RoPE (Qwen2; nil: none).
        let queryBias, keyBias, valueBias: UnsafePointer<Float>?
        /// Per-head RMSNorm weights of q and k (`headDim` each), applied before RoPE (Qwen3; nil: none).
        let queryNorm, keyNorm: UnsafePointer<Float>?
    }

    /// The FFN sub-block's weights.
    package struct FFN {
        let norm, gate, up, down: UnsafePointer<Float>
        /// `ffn_down.bias`, added to the FFN's output (nil: none).
        let downBias: UnsafePointer<Float>?
    }

    /// The layer's head counts and FFN width.
    package let shape: LayerShape
    /// Nil when the layer has no attention.
    package let attention: Attention?
    /// Nil when the layer has no FFN.
    package let ffn: FFN?
}

/// The model's weights resolved to raw pointers for one forward call. Holds the storages so the
/// pointers stay valid while it lives, even if the model's tensors are replaced meanwhile.
package struct ModelWeights {
    /// The configuration the weights were resolved for.
    package let config: LlamaConfig
    let tokenEmbedding: UnsafePointer<Float>
    let outputNorm: UnsafePointer<Float>
    let output: UnsafePointer<Float>
    package let layers: [LayerWeights]
    private let storages: [TensorStorage]

    /// Resolves `model`'s current tensors.
    package init(_ model: Model) {
        var storages: [TensorStorage] = []
        func pointer(_ tensor: Tensor) -> UnsafePointer<Float> {
            storages.append(tensor.storage)
            return UnsafePointer(tensor.storage.buffer.baseAddress!)
        }
        // Model's initialiser and surgery guarantee every expected tensor is present with the right shape.
        func named(_ name: String) -> UnsafePointer<Float> { pointer(model.tensor(name)!) }
        config = model.config
        tokenEmbedding = named(LlamaTensorNames.tokenEmbedding)
        outputNorm = named(LlamaTensorNames.outputNorm)
        output = pointer(model.outputProjection)
        layers = model.config.layers.enumerated().map { layer, shape in
            typealias Part = LlamaTensorNames.Layer
            func part(_ part: Part) -> UnsafePointer<Float> { named(part.name(layer: layer)) }
            func bias(_ part: Part) -> UnsafePointer<Float>? {
                model.tensor(part.name(layer: layer, kind: .bias)).map(pointer)
            }
            func headNorm(_ part: Part) -> UnsafePointer<Float>? {
                model.tensor(part.name(layer: layer, kind: .headNorm)).map(pointer)
            }
            let attention =
                shape.hasAttention
                ? LayerWeights.Attention(
                    norm: part(.attentionNorm), query: part(.query), key: part(.key),
                    value: part(.value), output: part(.attentionOutput), outputBias: bias(.attentionOutput),
                    queryBias: bias(.query), keyBias: bias(.key), valueBias: bias(.value),
                    queryNorm: headNorm(.query), keyNorm: headNorm(.key))
                : nil
            let ffn =
                shape.hasFFN
                ? LayerWeights.FFN(
                    norm: part(.ffnNorm), gate: part(.gate), up: part(.up), down: part(.down),
                    downBias: bias(.down))
                : nil
            return LayerWeights(shape: shape, attention: attention, ffn: ffn)
        }
        self.storages = storages
    }
}
