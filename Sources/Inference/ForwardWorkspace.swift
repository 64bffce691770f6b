import ModelIO

/// Activation buffers and per-layer key/value caches, allocated once for a capacity and reused by
/// every call. `ForwardPass` uses one row per position of a sequence; `BatchedGenerator` one row
/// per sequence, with sequence `b`'s cache in rows `b·capacity ..< (b+1)·capacity` of each layer's.
struct ForwardWorkspace {
    /// Residual stream, `rows × hidden`.
    let residual: TensorStorage
    /// Normalised residual, `rows × hidden`.
    let normed: TensorStorage
    /// Queries, `rows × queryWidth`.
    let queries: TensorStorage
    /// Keys and values of the current step before they go into the caches, `stagingRows × kvWidth`
    /// (empty when keys and values are written straight into the caches).
    let newKeys, newValues: TensorStorage
    /// Attention output before the output projection, `rows × queryWidth`.
    let attended: TensorStorage
    /// Gate activations (then SiLU(gate)·up), `rows × ffn`.
    let gate: TensorStorage
    /// Up activations, `rows × ffn`.
    let up: TensorStorage
    /// Logits, `logitRows × vocab`.
    let logits: TensorStorage
    /// Keys per layer, `cacheRows × kvWidth` each (RoPE applied).
    let keys: [TensorStorage]
    /// Values per layer, `cacheRows × kvWidth` each.
    let values: [TensorStorage]

    init(config: LlamaConfig, rows: Int, logitRows: Int, cacheRows: Int, stagingRows: Int = 0) {
        residual = TensorStorage(zeros: rows * config.hiddenSize)
        normed = TensorStorage(zeros: rows * config.hiddenSize)
        queries = TensorStorage(zeros: rows * config.queryWidth)
        newKeys = TensorStorage(zeros: stagingRows * config.kvWidth)
        newValues = TensorStorage(zeros: stagingRows * config.kvWidth)
        attended = TensorStorage(zeros: rows * config.queryWidth)
        gate = TensorStorage(zeros: rows * config.ffnSize)
        up = TensorStorage(zeros: rows * config.ffnSize)
        logits = TensorStorage(zeros: logitRows * config.vocabSize)
        keys = (0..<config.layerCount).map { _ in TensorStorage(zeros: cacheRows * config.kvWidth) }
        values = (0..<config.layerCount).map { _ in TensorStorage(zeros: cacheRows * config.kvWidth) }
    }
}
