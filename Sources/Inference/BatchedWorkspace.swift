import ModelIO

/// Activation buffers for `batchSize` rows (one per sequence) and the key/value caches of
/// `BatchedGenerator`: sequence `b`'s cache is rows `b·capacity ..< (b+1)·capacity` of each layer's.
struct BatchedWorkspace {
    /// Residual stream, `batchSize × hidden`.
    let residual: TensorStorage
    /// Normalised residual, `batchSize × hidden`.
    let normed: TensorStorage
    /// Queries, `batchSize × queryWidth`.
    let queries: TensorStorage
    /// Keys and values of the current step before they go into the caches, `batchSize × kvWidth`.
    let newKeys, newValues: TensorStorage
    /// Attention output, `batchSize × queryWidth`.
    let attended: TensorStorage
    /// Gate activations (then SiLU(gate)·up), `batchSize × ffn`.
    let gate: TensorStorage
    /// Up activations, `batchSize × ffn`.
    let up: TensorStorage
    /// Logits, `batchSize × vocab`.
    let logits: TensorStorage
    /// Keys per layer, `batchSize·capacity × kvWidth` each (RoPE applied).
    let keys: [TensorStorage]
    /// Values per layer, `batchSize·capacity × kvWidth` each.
    let values: [TensorStorage]

    init(config: LlamaConfig, batchSize: Int, capacity: Int) {
        residual = TensorStorage(zeros: batchSize * config.hiddenSize)
        normed = TensorStorage(zeros: batchSize * config.hiddenSize)
        queries = TensorStorage(zeros: batchSize * config.queryWidth)
        newKeys = TensorStorage(zeros: batchSize * config.kvWidth)
        newValues = TensorStorage(zeros: batchSize * config.kvWidth)
        attended = TensorStorage(zeros: batchSize * config.queryWidth)
        gate = TensorStorage(zeros: batchSize * config.ffnSize)
        up = TensorStorage(zeros: batchSize * config.ffnSize)
        logits = TensorStorage(zeros: batchSize * config.vocabSize)
        keys = (0..<config.layerCount).map { _ in TensorStorage(zeros: batchSize * capacity * config.kvWidth) }
        values = (0..<config.layerCount).map { _ in TensorStorage(zeros: batchSize * capacity * config.kvWidth) }
    }
}
