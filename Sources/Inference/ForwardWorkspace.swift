import ModelIO

/// Activation buffers and the key/value cache of one `ForwardPass`, allocated once for its
/// capacity and reused by every call.
struct ForwardWorkspace {
    /// Residual stream, `capacity × hidden`.
    let residual: TensorStorage
    /// Normalised residual, `capacity × hidden`.
    let normed: TensorStorage
    /// Queries, `capacity × queryWidth`.
    let queries: TensorStorage
    /// Attention output before the output projection, `capacity × queryWidth`.
    let attended: TensorStorage
    /// Gate activations (then SiLU(gate)·up), `capacity × ffn`.
    let gate: TensorStorage
    /// Up activations, `capacity × ffn`.
    let up: TensorStorage
    /// Logits of one block of rows, `headBlock × vocab`.
    let logits: TensorStorage
    /// Keys per layer, `capacity × kvWidth` each (RoPE applied).
    let keys: [TensorStorage]
    /// Values per layer, `capacity × kvWidth` each.
    let values: [TensorStorage]

    init(config: LlamaConfig, capacity: Int, headBlock: Int) {
        residual = TensorStorage(zeros: capacity * config.hiddenSize)
        normed = TensorStorage(zeros: capacity * config.hiddenSize)
        queries = TensorStorage(zeros: capacity * config.queryWidth)
        attended = TensorStorage(zeros: capacity * config.queryWidth)
        gate = TensorStorage(zeros: capacity * config.ffnSize)
        up = TensorStorage(zeros: capacity * config.ffnSize)
        logits = TensorStorage(zeros: headBlock * config.vocabSize)
        keys = (0..<config.layerCount).map { _ in TensorStorage(zeros: capacity * config.kvWidth) }
        values = (0..<config.layerCount).map { _ in TensorStorage(zeros: capacity * config.kvWidth) }
    }
}
