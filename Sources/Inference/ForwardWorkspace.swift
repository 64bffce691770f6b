import ModelIO

/// Activation buffers and per-layer key/value caches, allocated once for a capacity and reused by
/// every call. `ForwardPass` uses one row per position of a sequence; `BatchedGenerator` one row
/// per sequence, with sequence `b`'s cache in rows `b·capacity ..< (b+1)·capacity` of each layer's.
struct ForwardWorkspace {
    /// Residual stream, `rows × hidden`.
    let residual: TensorStorage
    /// The decoder layers' scratch (its `normed` also holds the final-normed rows).
    let scratch: LayerScratch
    /// Logits, `logitRows × vocab`.
    let logits: TensorStorage
    /// Keys per layer, `cacheRows × kvWidth(layer)` each (RoPE applied).
    let keys: [TensorStorage]
    /// Values per layer, `cacheRows × kvWidth(layer)` each.
    let values: [TensorStorage]

    /// Buffers for `rows` rows; with `sharedCache`, every layer's keys and values share one
    /// buffer of the widest layer's size, which is right only for whole sequences run from
    /// position 0 (each layer is done with its cache before the next writes it).
    init(
        config: LlamaConfig, rows: Int, logitRows: Int, cacheRows: Int, stagingRows: Int = 0,
        sharedCache: Bool = false
    ) {
        residual = TensorStorage(zeros: rows * config.hiddenSize)
        scratch = LayerScratch(config: config, rows: rows, stagingRows: stagingRows)
        logits = TensorStorage(zeros: logitRows * config.vocabSize)
        if sharedCache {
            keys = Array(repeating: TensorStorage(zeros: cacheRows * config.maxKVWidth), count: config.layerCount)
            values = Array(repeating: TensorStorage(zeros: cacheRows * config.maxKVWidth), count: config.layerCount)
        } else {
            keys = (0..<config.layerCount).map { TensorStorage(zeros: cacheRows * config.kvWidth($0)) }
            values = (0..<config.layerCount).map { TensorStorage(zeros: cacheRows * config.kvWidth($0)) }
        }
    }

    /// The cache view of layer `layer` for one sequence whose new rows start at `firstPosition`.
    func sequenceCache(layer: Int, firstPosition: Int) -> KVCacheView {
        .sequence(
            keys: keys[layer].buffer.baseAddress!, values: values[layer].buffer.baseAddress!,
            firstPosition: firstPosition)
    }
}
