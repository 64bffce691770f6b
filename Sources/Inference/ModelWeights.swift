import ModelIO

/// Pointers to one decoder layer's weights, each `[out, in]` row-major.
struct LayerWeights {
    let attentionNorm, query, key, value, attentionOutput, ffnNorm, gate, up, down: UnsafePointer<Float>
}

/// The model's weights resolved to raw pointers for one forward call. Holds the storages so the
/// pointers stay valid while it lives, even if the model's tensors are replaced meanwhile.
struct ModelWeights {
    let tokenEmbedding: UnsafePointer<Float>
    let outputNorm: UnsafePointer<Float>
    let output: UnsafePointer<Float>
    let layers: [LayerWeights]
    private let storages: [TensorStorage]

    init(_ model: Model) {
        var storages: [TensorStorage] = []
        func pointer(_ tensor: Tensor) -> UnsafePointer<Float> {
            storages.append(tensor.storage)
            return UnsafePointer(tensor.storage.buffer.baseAddress!)
        }
        // Model's initialiser guarantees every expected tensor is present with the right shape.
        func named(_ name: String) -> UnsafePointer<Float> { pointer(model.tensor(name)!) }
        tokenEmbedding = named(LlamaTensorNames.tokenEmbedding)
        outputNorm = named(LlamaTensorNames.outputNorm)
        output = pointer(model.outputProjection)
        layers = (0..<model.config.layerCount).map { layer in
            typealias Part = LlamaTensorNames.Layer
            return LayerWeights(
                attentionNorm: named(Part.attentionNorm.name(layer: layer)), query: named(Part.query.name(layer: layer)),
                key: named(Part.key.name(layer: layer)), value: named(Part.value.name(layer: layer)),
                attentionOutput: named(Part.attentionOutput.name(layer: layer)),
                ffnNorm: named(Part.ffnNorm.name(layer: layer)), gate: named(Part.gate.name(layer: layer)),
                up: named(Part.up.name(layer: layer)), down: named(Part.down.name(layer: layer)))
        }
        self.storages = storages
    }
}
