import Inference
import ModelIO
import TestSupport

/// What the structured-pruning tests share: tiny models of a given depth, random windows, and
/// the dense stream's linear inputs computed directly with the layer routine.
enum StructuredFixtures {
    /// A tiny model of `layers` identical layers (4 query heads over 2 KV heads of 8 dims, FFN 48).
    static func model(layers: Int, seed: UInt64) throws -> Model {
        var config = TinyModel.config
        config.layers = Array(repeating: config.layers[0], count: layers)
        return try TinyModel.make(config, seed: seed)
    }

    /// `count` windows of `length` random ids, window `w` seeded with `seed + w`.
    static func windows(_ count: Int, length: Int, seed: UInt64) -> [[Int32]] {
        (0..<count).map { window in
            var rng = SplitMix64(seed: seed + UInt64(window))
            return (0..<length).map { _ in Int32(rng.next() % UInt64(TinyModel.config.vocabSize)) }
        }
    }

    /// Every window's `site` input of every layer (of `layers` only, the others empty) as the
    /// dense model runs them, `[layer][window]` (each `rows × width`, row-major).
    static func denseInputs(
        _ model: Model, _ windows: [[Int32]], _ site: LinearInputSite, layers: Set<Int>? = nil
    ) throws -> [[[Float]]] {
        let hidden = model.config.hiddenSize
        let forward = try DecoderLayerForward(model: model, capacity: windows.map(\.count).max()!)
        let embedding = model.tensor(LlamaTensorNames.tokenEmbedding)!.storage.array
        var states = windows.map { window in
            window.flatMap { embedding[(Int($0) * hidden)..<((Int($0) + 1) * hidden)] }
        }
        return try (0..<model.config.layerCount).map { layer in
            try states.indices.map { index in
                var observed: [Float] = []
                let rows = windows[index].count
                try states[index].withUnsafeMutableBufferPointer { buffer in
                    try forward.run(
                        layer: layer, input: buffer.baseAddress!, rows: rows, output: buffer.baseAddress!,
                        observe: { seen, values in
                            if seen == site, layers?.contains(layer) ?? true { observed = Array(values) }
                        })
                }
                return observed
            }
        }
    }
}
