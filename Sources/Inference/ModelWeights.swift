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
    /// The storages the pointers point into, kept alive as long as these weights.
    private let storages: [TensorStorage]

    /// Resolves layer `index` of `model` now: a streamed model's layer is decoded (or taken from
    /// its cache) and held until these weights go away.
    package init(_ model: Model, layer index: Int) {
        var storages: [TensorStorage] = []
        func pointer(_ tensor: Tensor) -> UnsafePointer<Float> {
            let storage = tensor.storage
            storages.append(storage)
            return UnsafePointer(storage.buffer.baseAddress!)
        }
        typealias Part = LlamaTensorNames.Layer
        // Model's initialiser and surgery guarantee every expected tensor is present with the right shape.
        func part(_ part: Part) -> UnsafePointer<Float> { pointer(model.tensor(part.name(layer: index))!) }
        func bias(_ part: Part) -> UnsafePointer<Float>? {
            model.tensor(part.name(layer: index, kind: .bias)).map(pointer)
        }
        func headNorm(_ part: Part) -> UnsafePointer<Float>? {
            model.tensor(part.name(layer: index, kind: .headNorm)).map(pointer)
        }
        let shape = model.config.layers[index]
        self.shape = shape
        attention =
            shape.hasAttention
            ? Attention(
                norm: part(.attentionNorm), query: part(.query), key: part(.key),
                value: part(.value), output: part(.attentionOutput), outputBias: bias(.attentionOutput),
                queryBias: bias(.query), keyBias: bias(.key), valueBias: bias(.value),
                queryNorm: headNorm(.query), keyNorm: headNorm(.key))
            : nil
        ffn =
            shape.hasFFN
            ? FFN(norm: part(.ffnNorm), gate: part(.gate), up: part(.up), down: part(.down), downBias: bias(.down))
            : nil
        self.storages = storages
    }
}

/// The model's weights for one forward call: the head's tensors resolved to raw pointers when
/// first used and held while this lives (so they stay valid even if the model's tensors are
/// replaced meanwhile), and each layer resolved when the caller asks for it, so that a streamed
/// model holds only the layers in use.
package final class ModelWeights {
    /// The configuration the weights were resolved for.
    package let config: LlamaConfig
    private let model: Model

    /// The token embedding, `vocab × hidden`.
    package private(set) lazy var tokenEmbedding: UnsafePointer<Float> = {
        hasEmbeddingTable = true
        return pointer(model.tensor(LlamaTensorNames.tokenEmbedding)!)
    }()
    /// The final norm's weight.
    package private(set) lazy var outputNorm: UnsafePointer<Float> = pointer(
        model.tensor(LlamaTensorNames.outputNorm)!)
    /// The output projection, `vocab × hidden` (the embedding when tied).
    package private(set) lazy var output: UnsafePointer<Float> =
        config.tiedEmbedding ? tokenEmbedding : pointer(model.outputProjection)
    private var storages: [TensorStorage] = []
    /// Whether `tokenEmbedding` has been resolved (then `embed` copies from it).
    private var hasEmbeddingTable = false

    /// The weights of `model` as it is now.
    package init(_ model: Model) {
        self.model = model
        config = model.config
    }

    /// Copies the embedding rows of `ids` into `destination` (`ids.count × hidden`). A streamed
    /// model's rows are decoded one by one from the file, never the whole table, unless it is
    /// already resolved (for the tied output projection).
    package func embed(_ ids: some Collection<Int32>, into destination: UnsafeMutablePointer<Float>) {
        let hidden = config.hiddenSize
        let tensor = model.tensor(LlamaTensorNames.tokenEmbedding)!
        if !hasEmbeddingTable, let source = tensor.source, source.decodesRows {
            for (row, id) in ids.enumerated() {
                source.decodeRow(
                    Int(id), into: UnsafeMutableBufferPointer(start: destination + row * hidden, count: hidden))
            }
            source.releasePages()
            return
        }
        let table = tokenEmbedding
        for (row, id) in ids.enumerated() {
            (destination + row * hidden).update(from: table + Int(id) * hidden, count: hidden)
        }
    }

    /// Layer `index`'s weights, resolved now (see `LayerWeights.init(_:layer:)`).
    package func layer(_ index: Int) -> LayerWeights { LayerWeights(model, layer: index) }

    private func pointer(_ tensor: Tensor) -> UnsafePointer<Float> {
        let storage = tensor.storage
        storages.append(storage)
        return UnsafePointer(storage.buffer.baseAddress!)
    }
}
