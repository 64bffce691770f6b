import ModelIO

/// One tensor's gradient of the mean next-token loss, as `ModelGradients.weights` hands it over.
package struct TensorGradient {
    /// The model's (GGUF) tensor name, e.g. `blk.3.attn_q.weight`.
    package let name: String
    /// The tensor's shape (`[out, in]` for a matrix, q/k rows in the model's own order).
    package let shape: [Int]
    /// `∂L/∂W`, summed over the windows (L is the mean over all predicted tokens of all windows).
    package let gradient: TensorStorage
    /// `Σ_windows (∂L_w/∂W)²` with `L_w` window `w`'s share of L (the Fisher diagonal estimate),
    /// when requested.
    package let squared: TensorStorage?
}

/// The unit gates `ModelGradients.gates` can be asked for.
package enum GateUnit: String, CaseIterable, Sendable {
    /// One gate per query head (needs attention).
    case heads
    /// One gate per KV group: its KV head and the query heads reading it (needs attention).
    case kvGroups
    /// One gate per FFN channel (needs an FFN).
    case channels
    /// One gate per block, multiplying both sub-blocks' contributions.
    case blocks
}

/// Unit-gate gradients of the mean next-token loss for every layer.
package struct GateGradients: Sendable {
    /// The mean negative log-likelihood over every predicted token of every window.
    package let loss: Double
    /// Per layer (empty head or channel lists where the layer lacks the sub-block).
    package let layers: [LayerGateGradients]
}

/// Gradients of the mean next-token negative log-likelihood over calibration windows (each a
/// sequence from position 0; every token after the first of each window is predicted), by a
/// hand-written reverse pass over the same decoder-layer routine as the forward.
///
/// Memory: the forward keeps each block's input per window (activation checkpointing) and the
/// backward recomputes the block's activation record from it, so activations cost
/// `layers × Σ window lengths × hidden` floats plus one record; weight gradients are accumulated
/// one layer at a time and streamed to a consumer, so no full gradient copy exists.
///
/// Not thread-safe: one instance per thread.
package final class ModelGradients {
    /// The model (its tensors are read afresh on every call).
    package let model: Model

    /// Gradients of `model` as it is at each call.
    package init(model: Model) { self.model = model }

    /// The gradient of the mean NLL over `windows` with respect to every weight, handed to
    /// `consume` one tensor at a time as soon as it is complete: `output_norm.weight` and
    /// `output.weight` (untied) first, then each layer's tensors from the last layer to the
    /// first, then `token_embd.weight` (with the output projection's gradient added when
    /// tied). `fisher` also accumulates the squared per-window gradients. Returns the mean NLL.
    ///
    /// - Throws: `InferenceError` for no windows, a window under 2 tokens or an id outside the
    ///   vocabulary (before any work), or what `consume` throws.
    package func weights(
        windows: [[Int32]], fisher: Bool = false, consume: (TensorGradient) throws -> Void
    ) throws -> Double {
        let predictions = try validate(windows)
        let config = model.config, hidden = config.hiddenSize, vocab = config.vocabSize
        let weights = ModelWeights(model)
        let capacity = windows.map(\.count).max()!
        let forward = try DecoderLayerForward(model: model, capacity: capacity)
        let loss = LossBackward(config: config, capacity: capacity)
        let scale = 1 / Float(predictions)
        // Forward with checkpoints: every block's input per window.
        var inputs: [[TensorStorage]] = Array(repeating: [], count: config.layerCount)
        var finals: [TensorStorage] = []
        for window in windows {
            let state = embed(window, weights)
            for layer in 0..<config.layerCount {
                inputs[layer].append(TensorStorage(count: state.count) { _ = $0.update(fromContentsOf: state.buffer) })
                try forward.run(
                    layer: layer, input: state.buffer.baseAddress!, rows: window.count,
                    output: state.buffer.baseAddress!)
            }
            finals.append(state)
        }
        // The head, window by window.
        let tied = model.tensor(LlamaTensorNames.output) == nil
        let outputGradient = TensorStorage(zeros: vocab * hidden)
        let outputSquared = fisher && !tied ? TensorStorage(zeros: vocab * hidden) : nil
        let normGradient = TensorStorage(zeros: hidden)
        let normSquared = fisher ? TensorStorage(zeros: hidden) : nil
        let windowOutput = fisher ? TensorStorage(zeros: vocab * hidden) : nil
        let windowNorm = TensorStorage(zeros: hidden)
        var gradients: [TensorStorage] = []
        var total = 0.0
        for (index, window) in windows.enumerated() {
            let gradient = TensorStorage(zeros: window.count * hidden)
            windowNorm.buffer.update(repeating: 0)
            total += window.withUnsafeBufferPointer { ids in
                loss.run(
                    states: finals[index].buffer.baseAddress!, rows: window.count, tokens: ids.baseAddress!,
                    scale: scale, outputWeight: weights.output, normWeight: weights.outputNorm,
                    stateGradient: gradient.buffer.baseAddress!,
                    outputGradient: (windowOutput ?? outputGradient).buffer.baseAddress!, accumulate: !fisher,
                    normGradient: windowNorm.buffer.baseAddress!)
            }
            Self.accumulate(windowNorm, into: normGradient, squares: normSquared)
            if let windowOutput { Self.accumulate(windowOutput, into: outputGradient, squares: outputSquared) }
            gradients.append(gradient)
        }
        try consume(
            TensorGradient(
                name: LlamaTensorNames.outputNorm, shape: [hidden], gradient: normGradient, squared: normSquared))
        if !tied {
            try consume(
                TensorGradient(
                    name: LlamaTensorNames.output, shape: [vocab, hidden], gradient: outputGradient,
                    squared: outputSquared))
        }
        // The layers, last to first, each over every window, recomputing its record.
        let backward = DecoderLayerBackward(config: config, capacity: capacity)
        let record = LayerActivationRecord()
        for layer in (0..<config.layerCount).reversed() {
            let biases = LayerGradients.biasParts(of: model, layer: layer)
            let sum = LayerGradients(config: config, layer: layer, biases: biases)
            let squared = fisher ? LayerGradients(config: config, layer: layer, biases: biases) : nil
            let single = fisher ? LayerGradients(config: config, layer: layer, biases: biases) : nil
            for (index, window) in windows.enumerated() {
                let input = inputs[layer][index].buffer.baseAddress!
                try forward.run(
                    layer: layer, input: input, rows: window.count, output: input, observe: nil, record: record)
                backward.run(
                    weights.layers[layer], record: record, rows: window.count,
                    gradient: gradients[index].buffer.baseAddress!, weightGradients: single ?? sum,
                    accumulate: !fisher, gates: nil)
                if let single, let squared {
                    for (part, storage) in single.tensors {
                        Self.accumulate(storage, into: sum.tensors[part]!, squares: squared.tensors[part]!)
                    }
                    for (part, storage) in single.biases {
                        Self.accumulate(storage, into: sum.biases[part]!, squares: squared.biases[part]!)
                    }
                }
            }
            inputs[layer] = []
            for part in LlamaTensorNames.Layer.allCases {
                guard let storage = sum.tensors[part] else { continue }
                try consume(
                    TensorGradient(
                        name: part.name(layer: layer), shape: part.shape(config, layer: layer), gradient: storage,
                        squared: squared?.tensors[part]))
                if let bias = sum.biases[part] {
                    try consume(
                        TensorGradient(
                            name: part.name(layer: layer, kind: .bias), shape: [hidden], gradient: bias,
                            squared: squared?.biases[part]))
                }
            }
        }
        // The embedding: scatter each position's input gradient onto its token's row.
        let embedding = tied ? outputGradient : TensorStorage(zeros: vocab * hidden)
        let embeddingSquared = fisher ? TensorStorage(zeros: vocab * hidden) : nil
        let scratch = TensorStorage(zeros: fisher && tied ? capacity * hidden : 0)
        for (index, window) in windows.enumerated() {
            Self.scatter(gradients[index], window, hidden: hidden, into: embedding)
            guard let embeddingSquared, let windowOutput else { continue }
            if tied {
                // The window's own head gradient again, plus its scatter, squared whole.
                _ = window.withUnsafeBufferPointer { ids in
                    loss.run(
                        states: finals[index].buffer.baseAddress!, rows: window.count, tokens: ids.baseAddress!,
                        scale: scale, outputWeight: weights.output, normWeight: weights.outputNorm,
                        stateGradient: scratch.buffer.baseAddress!,
                        outputGradient: windowOutput.buffer.baseAddress!, accumulate: false, normGradient: nil)
                }
                Self.scatter(gradients[index], window, hidden: hidden, into: windowOutput)
                for i in 0..<(vocab * hidden) {
                    embeddingSquared.buffer[i] += windowOutput.buffer[i] * windowOutput.buffer[i]
                }
            } else {
                var rows: [Int32: [Float]] = [:]
                for (position, id) in window.enumerated() {
                    let row = gradients[index].buffer[(position * hidden)..<((position + 1) * hidden)]
                    rows[id] = rows[id].map { zip($0, row).map { $0 + $1 } } ?? Array(row)
                }
                for (id, row) in rows {
                    for i in 0..<hidden { embeddingSquared.buffer[Int(id) * hidden + i] += row[i] * row[i] }
                }
            }
        }
        try consume(
            TensorGradient(
                name: LlamaTensorNames.tokenEmbedding, shape: [vocab, hidden], gradient: embedding,
                squared: embeddingSquared))
        withExtendedLifetime(weights) {}
        return total / Double(predictions)
    }

    /// `∂L/∂g` at `g = 1` for gates on every unit of every layer (`layers`: the ones asked for,
    /// nil for all), without weight gradients: windows one at a time, the backward's input
    /// gradients only. Each requested layer must have the sub-block of each requested unit.
    ///
    /// - Throws: `InferenceError` for bad windows, a layer out of range, or a unit a layer lacks
    ///   (heads or KV groups of a layer without attention, channels of one without an FFN).
    package func gates(windows: [[Int32]], units: Set<GateUnit>, layers: [Int]? = nil) throws -> GateGradients {
        let predictions = try validate(windows)
        let config = model.config, hidden = config.hiddenSize
        for layer in layers ?? [] {
            guard (0..<config.layerCount).contains(layer) else {
                throw InferenceError("gates: layer \(layer) is outside 0..<\(config.layerCount)")
            }
            let shape = config.layers[layer]
            for unit in units.sorted(by: { $0.rawValue < $1.rawValue }) {
                switch unit {
                case .heads where !shape.hasAttention, .kvGroups where !shape.hasAttention:
                    throw InferenceError("gates: layer \(layer) has no attention, so no \(unit.rawValue) gates")
                case .channels where !shape.hasFFN:
                    throw InferenceError("gates: layer \(layer) has no FFN, so no channels gates")
                default: break
                }
            }
        }
        let weights = ModelWeights(model)
        let capacity = windows.map(\.count).max()!
        let forward = try DecoderLayerForward(model: model, capacity: capacity)
        let loss = LossBackward(config: config, capacity: capacity)
        let backward = DecoderLayerBackward(config: config, capacity: capacity)
        let record = LayerActivationRecord()
        let scale = 1 / Float(predictions)
        var result = config.layers.map { LayerGateGradients(shape: $0) }
        let gradient = TensorStorage(zeros: capacity * hidden)
        var total = 0.0
        for window in windows {
            let state = embed(window, weights)
            var inputs: [TensorStorage] = []
            for layer in 0..<config.layerCount {
                inputs.append(TensorStorage(count: state.count) { _ = $0.update(fromContentsOf: state.buffer) })
                try forward.run(
                    layer: layer, input: state.buffer.baseAddress!, rows: window.count,
                    output: state.buffer.baseAddress!)
            }
            total += window.withUnsafeBufferPointer { ids in
                loss.run(
                    states: state.buffer.baseAddress!, rows: window.count, tokens: ids.baseAddress!, scale: scale,
                    outputWeight: weights.output, normWeight: weights.outputNorm,
                    stateGradient: gradient.buffer.baseAddress!, outputGradient: nil, accumulate: false,
                    normGradient: nil)
            }
            for layer in (0..<config.layerCount).reversed() {
                let input = inputs[layer].buffer.baseAddress!
                try forward.run(
                    layer: layer, input: input, rows: window.count, output: input, observe: nil, record: record)
                withUnsafeMutablePointer(to: &result[layer]) { gates in
                    backward.run(
                        weights.layers[layer], record: record, rows: window.count,
                        gradient: gradient.buffer.baseAddress!, weightGradients: nil, accumulate: false, gates: gates)
                }
            }
        }
        withExtendedLifetime(weights) {}
        let selected = layers.map(Set.init)
        for layer in result.indices where selected.map({ !$0.contains(layer) }) ?? false {
            result[layer] = LayerGateGradients(shape: LayerShape(headCount: 0, kvHeadCount: 0, ffnSize: 0))
        }
        return GateGradients(loss: total / Double(predictions), layers: result)
    }

    /// Checks the windows against the model; returns the number of predicted tokens.
    private func validate(_ windows: [[Int32]]) throws(InferenceError) -> Int {
        guard !windows.isEmpty else { throw InferenceError("gradients: no calibration windows") }
        let vocab = model.config.vocabSize
        for (index, window) in windows.enumerated() {
            guard window.count >= 2 else {
                throw InferenceError(
                    "gradients: window \(index) has \(window.count) token(s); a next-token loss needs at least 2")
            }
            if let position = window.firstIndex(where: { $0 < 0 || Int($0) >= vocab }) {
                throw InferenceError(
                    "gradients: window \(index), position \(position): token id \(window[position]) is outside "
                        + "the vocabulary (0..<\(vocab))")
            }
        }
        return windows.reduce(0) { $0 + $1.count - 1 }
    }

    /// The embedded rows of `window`, `count × hidden`.
    private func embed(_ window: [Int32], _ weights: ModelWeights) -> TensorStorage {
        let hidden = weights.config.hiddenSize
        return TensorStorage(count: window.count * hidden) { buffer in
            for (row, id) in window.enumerated() {
                (buffer.baseAddress! + row * hidden).update(
                    from: weights.tokenEmbedding + Int(id) * hidden, count: hidden)
            }
        }
    }

    /// Adds `value` to `sum` and, when given, its squares to `squares`.
    private static func accumulate(_ value: TensorStorage, into sum: TensorStorage, squares: TensorStorage?) {
        let v = value.buffer, s = sum.buffer
        for i in v.indices { s[i] += v[i] }
        if let q = squares?.buffer { for i in v.indices { q[i] += v[i] * v[i] } }
    }

    /// Adds each row of `gradient` (`window.count × hidden`) to row `window[row]` of `table`.
    private static func scatter(_ gradient: TensorStorage, _ window: [Int32], hidden: Int, into table: TensorStorage) {
        for (row, id) in window.enumerated() {
            for i in 0..<hidden { table.buffer[Int(id) * hidden + i] += gradient.buffer[row * hidden + i] }
        }
    }
}
