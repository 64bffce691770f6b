import ModelIO

/// One `ModelGradients.weights` request: the two orders of work over the same pieces (the
/// embedding, the layer forward with checkpoints, the loss backward, the layer backward with a
/// recomputed record, the embedding scatter) and the accumulators they fill.
struct WeightGradientRun {
    let model: Model
    let windows: [[Int32]]
    /// Predicted tokens over all windows (the loss is their mean).
    let predictions: Int
    /// Whether the Fisher estimate is accumulated.
    let fisher: Bool
    /// How many of the last layers keep their activation records from the forward instead of
    /// recomputing them from their inputs in the backward.
    let keptLayers: Int
    let config: LlamaConfig
    let weights: ModelWeights
    let capacity: Int
    /// The output projection is the embedding.
    let tied: Bool

    init(model: Model, windows: [[Int32]], predictions: Int, fisher: Bool, keptLayers: Int) {
        self.model = model
        self.windows = windows
        self.predictions = predictions
        self.fisher = fisher
        self.keptLayers = keptLayers
        config = model.config
        weights = ModelWeights(model)
        capacity = windows.map(\.count).max()!
        tied = model.tensor(LlamaTensorNames.output) == nil
    }

    /// The factor turning window `w`'s squared share of the gradient, `(∂L_w/∂W)²` with
    /// `L_w = Σ_window nll / predictions`, into its term of the Fisher estimate
    /// `(1/N)(∂ℓ_w/∂W)²`, `ℓ_w` the window's own mean NLL.
    private func fisherFactor(_ window: [Int32]) -> Float {
        let ratio = Float(predictions) / Float(window.count - 1)
        return ratio * ratio / Float(windows.count)
    }

    private var scale: Float { 1 / Float(predictions) }
    /// Whether `layer` keeps its record from the forward.
    private func keeps(_ layer: Int) -> Bool { layer >= config.layerCount - keptLayers }
    private var hidden: Int { config.hiddenSize }
    private var head: Int { config.vocabSize * config.hiddenSize }

    // MARK: Windows first

    /// One window at a time: forward with checkpoints, loss, every layer backward, embedding;
    /// the sums (and Fisher terms) accumulate over the windows and are handed over at the end.
    func byWindows(
        cancellation: Cancellation?, onLoss: ((Double) throws -> Void)?, consume: (TensorGradient) throws -> Void
    ) throws -> Double {
        let forward = try DecoderLayerForward(model: model, capacity: capacity)
        let loss = LossBackward(config: config, capacity: capacity)
        let backward = DecoderLayerBackward(config: config, capacity: capacity)
        let record = LayerActivationRecord()
        let layers = (0..<config.layerCount).map { LayerAccumulator(layer: $0, model: model, fisher: fisher) }
        var singles: [String: LayerGradients] = [:]
        let norm = Accumulator(count: hidden, fisher: fisher)
        let output = tied ? nil : Accumulator(count: head, fisher: fisher)
        let embedding = Accumulator(count: head, fisher: fisher)
        let windowNorm = TensorStorage(zeros: fisher ? hidden : 0)
        let windowHead = TensorStorage(zeros: fisher ? head : 0)
        let inputs = (0..<config.layerCount).map { TensorStorage(zeros: keeps($0) ? 0 : capacity * hidden) }
        let records = (0..<config.layerCount).map { keeps($0) ? LayerActivationRecord() : nil }
        let state = TensorStorage(zeros: capacity * hidden), gradient = TensorStorage(zeros: capacity * hidden)
        var total = 0.0
        for window in windows {
            try cancellation?.check()
            let rows = window.count, factor = fisherFactor(window)
            weights.embed(window, into: state.buffer.baseAddress!)
            for layer in 0..<config.layerCount {
                if !keeps(layer) {
                    inputs[layer].buffer.baseAddress!.update(from: state.buffer.baseAddress!, count: rows * hidden)
                }
                try forward.run(
                    layer: layer, input: state.buffer.baseAddress!, rows: rows, output: state.buffer.baseAddress!,
                    observe: nil, record: records[layer])
            }
            if fisher { windowNorm.buffer.update(repeating: 0) }
            total += window.withUnsafeBufferPointer { ids in
                loss.run(
                    states: state.buffer.baseAddress!, rows: rows, tokens: ids.baseAddress!, scale: scale,
                    outputWeight: weights.output, normWeight: weights.outputNorm,
                    stateGradient: gradient.buffer.baseAddress!,
                    outputGradient: (fisher ? windowHead : (output ?? embedding).sum).buffer.baseAddress!,
                    accumulate: !fisher, normGradient: (fisher ? windowNorm : norm.sum).buffer.baseAddress!)
            }
            if fisher {
                norm.add(windowNorm, factor: factor)
                if let output { output.add(windowHead, factor: factor) }
            }
            for layer in (0..<config.layerCount).reversed() {
                try cancellation?.check()
                if !keeps(layer) {
                    let input = inputs[layer].buffer.baseAddress!
                    try forward.run(
                        layer: layer, input: input, rows: rows, output: input, observe: nil, record: record,
                        recordOnly: true)
                }
                let target = layers[layer]
                let single = fisher ? target.scratch(in: &singles, config: config) : nil
                backward.run(
                    weights.layer(layer), record: records[layer] ?? record, rows: rows,
                    gradient: gradient.buffer.baseAddress!,
                    weightGradients: single ?? target.sums, accumulate: !fisher, gates: nil)
                if let single { target.add(single, factor: factor) }
            }
            if !fisher {
                Self.scatter(gradient, window, hidden: hidden, into: embedding.sum)
            } else if tied {
                Self.scatter(gradient, window, hidden: hidden, into: windowHead)
                embedding.add(windowHead, factor: factor)
            } else {
                Self.scatter(gradient, window, hidden: hidden, into: embedding.sum)
                Self.addSquaredRows(gradient, window, hidden: hidden, factor: factor, into: embedding.squared!)
            }
        }
        let mean = total / Double(predictions)
        try onLoss?(mean)
        try consume(norm.gradient(LlamaTensorNames.outputNorm, [hidden]))
        if let output { try consume(output.gradient(LlamaTensorNames.output, [config.vocabSize, hidden])) }
        for layer in (0..<config.layerCount).reversed() {
            for tensor in layers[layer].gradients(config: config) { try consume(tensor) }
        }
        try consume(embedding.gradient(LlamaTensorNames.tokenEmbedding, [config.vocabSize, hidden]))
        withExtendedLifetime(weights) {}
        return mean
    }

    // MARK: Layers first

    /// Every window forward with checkpoints, the head over every window, then each layer backward
    /// over every window, handed over as soon as it is complete; the embedding last.
    func byLayers(
        cancellation: Cancellation?, onLoss: ((Double) throws -> Void)?, consume: (TensorGradient) throws -> Void
    ) throws -> Double {
        let forward = try DecoderLayerForward(model: model, capacity: capacity)
        let loss = LossBackward(config: config, capacity: capacity)
        var inputs: [[TensorStorage]] = Array(repeating: [], count: config.layerCount)
        var records: [[LayerActivationRecord]] = Array(repeating: [], count: config.layerCount)
        var finals: [TensorStorage] = []
        for window in windows {
            try cancellation?.check()
            let state = ModelGradients.embed(window, weights)
            for layer in 0..<config.layerCount {
                let kept = keeps(layer) ? LayerActivationRecord() : nil
                if let kept {
                    records[layer].append(kept)
                } else {
                    inputs[layer].append(
                        TensorStorage(count: state.count) { _ = $0.update(fromContentsOf: state.buffer) })
                }
                try forward.run(
                    layer: layer, input: state.buffer.baseAddress!, rows: window.count,
                    output: state.buffer.baseAddress!, observe: nil, record: kept)
            }
            finals.append(state)
        }
        // The head, window by window.
        let norm = Accumulator(count: hidden, fisher: fisher)
        let output = Accumulator(count: head, fisher: fisher && !tied)
        let windowNorm = TensorStorage(zeros: hidden)
        let windowHead = TensorStorage(zeros: fisher ? head : 0)
        var gradients: [TensorStorage] = []
        var total = 0.0
        for (index, window) in windows.enumerated() {
            try cancellation?.check()
            let gradient = TensorStorage(zeros: window.count * hidden)
            windowNorm.buffer.update(repeating: 0)
            total += window.withUnsafeBufferPointer { ids in
                loss.run(
                    states: finals[index].buffer.baseAddress!, rows: window.count, tokens: ids.baseAddress!,
                    scale: scale, outputWeight: weights.output, normWeight: weights.outputNorm,
                    stateGradient: gradient.buffer.baseAddress!,
                    outputGradient: (fisher ? windowHead : output.sum).buffer.baseAddress!, accumulate: !fisher,
                    normGradient: windowNorm.buffer.baseAddress!)
            }
            norm.add(windowNorm, factor: fisherFactor(window))
            if fisher { output.add(windowHead, factor: tied ? 0 : fisherFactor(window)) }
            gradients.append(gradient)
        }
        let mean = total / Double(predictions)
        try onLoss?(mean)
        try consume(norm.gradient(LlamaTensorNames.outputNorm, [hidden]))
        if !tied { try consume(output.gradient(LlamaTensorNames.output, [config.vocabSize, hidden])) }
        // The layers, last to first, each over every window, recomputing its record unless kept.
        let backward = DecoderLayerBackward(config: config, capacity: capacity)
        let record = LayerActivationRecord()
        var singles: [String: LayerGradients] = [:]
        for layer in (0..<config.layerCount).reversed() {
            let target = LayerAccumulator(layer: layer, model: model, fisher: fisher)
            let single = fisher ? target.scratch(in: &singles, config: config) : nil
            for (index, window) in windows.enumerated() {
                try cancellation?.check()
                if !keeps(layer) {
                    let input = inputs[layer][index].buffer.baseAddress!
                    try forward.run(
                        layer: layer, input: input, rows: window.count, output: input, observe: nil, record: record,
                        recordOnly: true)
                }
                backward.run(
                    weights.layer(layer), record: keeps(layer) ? records[layer][index] : record, rows: window.count,
                    gradient: gradients[index].buffer.baseAddress!, weightGradients: single ?? target.sums,
                    accumulate: !fisher, gates: nil)
                if let single { target.add(single, factor: fisherFactor(window)) }
            }
            inputs[layer] = []
            records[layer] = []
            for tensor in target.gradients(config: config) { try consume(tensor) }
        }
        // The embedding: scatter each position's input gradient onto its token's row.
        let embedding = tied ? output : Accumulator(count: head, fisher: false)
        let embeddingSquared = fisher ? TensorStorage(zeros: head) : nil
        let scratch = TensorStorage(zeros: fisher && tied ? capacity * hidden : 0)
        for (index, window) in windows.enumerated() {
            Self.scatter(gradients[index], window, hidden: hidden, into: embedding.sum)
            guard let embeddingSquared else { continue }
            let factor = fisherFactor(window)
            guard tied else {
                Self.addSquaredRows(gradients[index], window, hidden: hidden, factor: factor, into: embeddingSquared)
                continue
            }
            // The window's own head gradient again, plus its scatter, squared whole.
            _ = window.withUnsafeBufferPointer { ids in
                loss.run(
                    states: finals[index].buffer.baseAddress!, rows: window.count, tokens: ids.baseAddress!,
                    scale: scale, outputWeight: weights.output, normWeight: weights.outputNorm,
                    stateGradient: scratch.buffer.baseAddress!, outputGradient: windowHead.buffer.baseAddress!,
                    accumulate: false, normGradient: nil)
            }
            Self.scatter(gradients[index], window, hidden: hidden, into: windowHead)
            let v = windowHead.buffer, q = embeddingSquared.buffer
            for i in v.indices { q[i] += factor * v[i] * v[i] }
        }
        try consume(
            TensorGradient(
                name: LlamaTensorNames.tokenEmbedding, shape: [config.vocabSize, hidden], gradient: embedding.sum,
                squared: embeddingSquared))
        withExtendedLifetime(weights) {}
        return mean
    }

    // MARK: Pieces

    /// Adds each row of `gradient` (`window.count × hidden`) to row `window[row]` of `table`.
    private static func scatter(_ gradient: TensorStorage, _ window: [Int32], hidden: Int, into table: TensorStorage) {
        for (row, id) in window.enumerated() {
            for i in 0..<hidden { table.buffer[Int(id) * hidden + i] += gradient.buffer[row * hidden + i] }
        }
    }

    /// Adds `factor ·` the square of each token's summed row of `gradient` to its row of `table`
    /// (a token seen twice in the window contributes the square of its sum).
    private static func addSquaredRows(
        _ gradient: TensorStorage, _ window: [Int32], hidden: Int, factor: Float, into table: TensorStorage
    ) {
        var rows: [Int32: [Float]] = [:]
        for (position, id) in window.enumerated() {
            let row = gradient.buffer[(position * hidden)..<((position + 1) * hidden)]
            rows[id] = rows[id].map { zip($0, row).map { $0 + $1 } } ?? Array(row)
        }
        for (id, row) in rows {
            for i in 0..<hidden { table.buffer[Int(id) * hidden + i] += factor * row[i] * row[i] }
        }
    }
}

/// The sum of one tensor's gradients over the windows and, with the Fisher estimate, the sum of
/// their weighted squares.
private final class Accumulator {
    let sum: TensorStorage
    let squared: TensorStorage?

    /// Zeros for a tensor of `count` elements.
    init(count: Int, fisher: Bool) {
        sum = TensorStorage(zeros: count)
        squared = fisher ? TensorStorage(zeros: count) : nil
    }

    /// Adds `value` to the sum and `factor · value²` to the squares.
    func add(_ value: TensorStorage, factor: Float) { Self.add(value, into: sum, squares: squared, factor: factor) }

    /// The gradient under `name`.
    func gradient(_ name: String, _ shape: [Int]) -> TensorGradient {
        TensorGradient(name: name, shape: shape, gradient: sum, squared: squared)
    }

    /// `sum += value`, `squares += factor · value²`.
    static func add(_ value: TensorStorage, into sum: TensorStorage, squares: TensorStorage?, factor: Float) {
        let v = value.buffer, s = sum.buffer
        for i in v.indices { s[i] += v[i] }
        if let q = squares?.buffer { for i in v.indices { q[i] += factor * v[i] * v[i] } }
    }
}

/// `Accumulator` for every tensor and bias of one layer.
private final class LayerAccumulator {
    let sums: LayerGradients
    let squares: LayerGradients?

    /// Zeros for layer `layer` of `model`.
    init(layer: Int, model: Model, fisher: Bool) {
        let biases = LayerGradients.biasParts(of: model, layer: layer)
        sums = LayerGradients(config: model.config, layer: layer, biases: biases)
        squares = fisher ? LayerGradients(config: model.config, layer: layer, biases: biases) : nil
    }

    /// Adds a window's layer gradients `value` to the sums and `factor · value²` to the squares.
    func add(_ value: LayerGradients, factor: Float) {
        for (part, storage) in value.tensors {
            Accumulator.add(storage, into: sums.tensors[part]!, squares: squares?.tensors[part], factor: factor)
        }
        for (part, storage) in value.biases {
            Accumulator.add(storage, into: sums.biases[part]!, squares: squares?.biases[part], factor: factor)
        }
        for (part, storage) in value.headNorms {
            Accumulator.add(storage, into: sums.headNorms[part]!, squares: squares?.headNorms[part], factor: factor)
        }
    }

    /// A per-window scratch for this layer's shape and biases, shared among layers alike.
    func scratch(in cache: inout [String: LayerGradients], config: LlamaConfig) -> LayerGradients {
        let key = "\(config.layers[sums.layer]) \(sums.biases.keys.map(\.rawValue).sorted())"
        if let existing = cache[key] { return existing }
        let made = LayerGradients(config: config, layer: sums.layer, biases: Set(sums.biases.keys))
        cache[key] = made
        return made
    }

    /// The layer's gradients in `LlamaTensorNames.Layer` order, each weight followed by its bias
    /// and head norm.
    func gradients(config: LlamaConfig) -> [TensorGradient] {
        let layer = sums.layer
        var result: [TensorGradient] = []
        for part in LlamaTensorNames.Layer.allCases {
            guard let storage = sums.tensors[part] else { continue }
            result.append(
                TensorGradient(
                    name: part.name(layer: layer), shape: part.shape(config, layer: layer), gradient: storage,
                    squared: squares?.tensors[part]))
            if let bias = sums.biases[part] {
                result.append(
                    TensorGradient(
                        name: part.name(layer: layer, kind: .bias),
                        shape: part.shape(config, layer: layer, kind: .bias),
                        gradient: bias,
                        squared: squares?.biases[part]))
            }
            if let norm = sums.headNorms[part] {
                result.append(
                    TensorGradient(
                        name: part.name(layer: layer, kind: .headNorm), shape: [config.headDim], gradient: norm,
                        squared: squares?.headNorms[part]))
            }
        }
        return result
    }
}
