import ModelIO

/// One tensor's gradient of the mean next-token loss, as `ModelGradients.weights` hands it over.
package struct TensorGradient {
    /// The model's (GGUF) tensor name, e.g. `blk.3.attn_q.weight`.
    package let name: String
    /// The tensor's shape (`[out, in]` for a matrix, q/k rows in the model's own order).
    package let shape: [Int]
    /// `∂L/∂W`, L being the mean negative log-likelihood over every predicted token of every window.
    package let gradient: TensorStorage
    /// The diagonal Fisher estimate `F = (1/N) Σ_w (∂ℓ_w/∂W)²` over the N windows, `ℓ_w` being
    /// window `w`'s own mean NLL (LLM-Pruner's `acc_grad`), when requested.
    package let squared: TensorStorage?
}

/// How `ModelGradients.weights` orders its work; both give the same sums up to rounding.
package enum WeightGradientOrder: String, Sendable, CaseIterable {
    /// Every window forward first, keeping each block's input for every window; then each layer
    /// backward over all windows, its gradients handed over as soon as they are complete.
    /// Checkpoints grow with the calibration (layers × tokens × hidden); accumulators are one
    /// layer's (plus the head's), so a large model never holds a full gradient copy.
    case layers
    /// One window at a time forward and backward, accumulating every tensor's gradient, all handed
    /// over at the end. Checkpoints are one window's; accumulators are the whole model's size
    /// (twice with the Fisher estimate).
    case windows
}

/// The memory a weight-gradient request needs beyond the model itself, in bytes (an estimate of
/// the large buffers; small ones are left out).
package struct GradientMemory: Sendable, Equatable {
    /// Activation checkpoints (block inputs) and per-window state gradients.
    package let checkpoints: Int
    /// Gradient (and Fisher) accumulators, including per-window scratch copies.
    package let accumulators: Int
    /// One layer's activation record, the backward's scratch and the head's logits block.
    package let workspace: Int

    /// The sum.
    package var total: Int { checkpoints + accumulators + workspace }
}

/// Unit-gate gradients of the mean next-token loss for every layer.
package struct GateGradients: Sendable {
    /// The mean negative log-likelihood over every predicted token of every window.
    package let loss: Double
    /// Per layer (empty head or channel lists where the layer lacks the sub-block).
    package let layers: [LayerGateGradients]
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

/// Gradients of the mean next-token negative log-likelihood over calibration windows (each a
/// sequence from position 0; every token after the first of each window is predicted), by a
/// hand-written reverse pass over the same decoder-layer routine as the forward.
///
/// Memory: the forward keeps each block's input (activation checkpointing) and the backward
/// recomputes the block's activation record from it, except for the last layers whose whole
/// records fit in the budget `keptLayers` sets (selective checkpointing: by default as many as
/// keep the request's checkpoints and workspace within the model's own F32 size, which holds
/// the peak within twice that of a forward pass plus the accumulators). `WeightGradientOrder`
/// chooses between keeping every window's checkpoints and streaming finished layers (`layers`),
/// or one window's checkpoints and whole-model accumulators (`windows`); by default the smaller
/// of the two.
///
/// Not thread-safe: one instance per thread.
package final class ModelGradients {
    /// The model (its tensors are read afresh on every call).
    package let model: Model
    /// Checked between windows and layers; a cancelled request throws `InferenceError`.
    package let cancellation: Cancellation?

    /// Gradients of `model` as it is at each call.
    package init(model: Model, cancellation: Cancellation? = nil) {
        self.model = model
        self.cancellation = cancellation
    }

    /// The gradient of the mean NLL over `windows` with respect to every weight, handed to
    /// `consume` one tensor at a time, in this order: `output_norm.weight`, `output.weight`
    /// (untied), each layer's tensors from the last layer to the first, then `token_embd.weight`
    /// (with the output projection's gradient added when tied). `fisher` also estimates the
    /// Fisher diagonal. `onLoss` hears the mean NLL before the first tensor is handed over.
    /// `order` nil takes the one needing less memory; `keepActivations` keeps every layer's
    /// activation record from the forward instead of recomputing it in the backward (about a
    /// quarter faster, for ~8× the checkpoint memory), otherwise `keptLayers(…)` decides how many
    /// are kept, unless `keptLayers` names the number of last layers to keep; `memoryLimit`
    /// (bytes, beyond the model) refuses a request whose estimate, plus the `retained` bytes of
    /// handed-over gradients the caller keeps, exceeds it. Returns the mean NLL.
    ///
    /// - Throws: `InferenceError` for no windows, a window under 2 tokens, an id outside the
    ///   vocabulary or an estimate over `memoryLimit` (all before any work; the last with its
    ///   `memoryShortfall`), cancellation; and what `onLoss` or `consume` throw.
    @discardableResult
    package func weights(
        windows: [[Int32]], fisher: Bool = false, order: WeightGradientOrder? = nil, keepActivations: Bool = false,
        keptLayers: Int? = nil, memoryLimit: Int? = nil, retained: Int = 0, onLoss: ((Double) throws -> Void)? = nil,
        consume: (TensorGradient) throws -> Void
    ) throws -> Double {
        let predictions = try validate(windows)
        let order = order ?? cheapestOrder(windows: windows, fisher: fisher, keepActivations: keepActivations)
        let kept =
            keptLayers.map { min(max($0, 0), model.config.layerCount) }
            ?? self.keptLayers(
                windows: windows, fisher: fisher, order: order, keepActivations: keepActivations,
                memoryLimit: memoryLimit.map { $0 - retained })
        if let memoryLimit {
            let needed = memory(windows: windows, fisher: fisher, order: order, keptLayers: kept)
            guard needed.total + retained <= memoryLimit else {
                let size = MemoryBudget.describe
                let kept = retained > 0 ? ", gradients kept by the caller \(size(retained))" : ""
                var error = InferenceError(
                    "gradients: \(windows.count) windows need about \(size(needed.total + retained)) beyond the model "
                        + "(checkpoints \(size(needed.checkpoints)), accumulators \(size(needed.accumulators)), "
                        + "workspace \(size(needed.workspace))\(kept)), over the limit of \(size(memoryLimit)); "
                        + "use fewer or shorter windows"
                        + (fisher ? ", leave out the Fisher estimate" : "")
                        + (keepActivations ? ", recompute activations" : "") + " or raise the limit")
                error.memoryShortfall = MemoryShortfall(needed: needed.total + retained, limit: memoryLimit)
                throw error
            }
        }
        let run = WeightGradientRun(
            model: model, windows: windows, predictions: predictions, fisher: fisher, keptLayers: kept)
        let loss =
            switch order {
            case .layers: try run.byLayers(cancellation: cancellation, onLoss: onLoss, consume: consume)
            case .windows: try run.byWindows(cancellation: cancellation, onLoss: onLoss, consume: consume)
            }
        return loss
    }

    /// The tensors `weights` hands over, with their shapes, in the order it hands them over.
    package func tensorOrder() -> [(name: String, shape: [Int])] {
        let config = model.config, hidden = config.hiddenSize, vocab = config.vocabSize
        var order: [(name: String, shape: [Int])] = [(LlamaTensorNames.outputNorm, [hidden])]
        if model.tensor(LlamaTensorNames.output) != nil { order.append((LlamaTensorNames.output, [vocab, hidden])) }
        for layer in (0..<config.layerCount).reversed() {
            let biases = LayerGradients.biasParts(of: model, layer: layer)
            for part in LlamaTensorNames.Layer.allCases where part.exists(in: config.layers[layer]) {
                order.append((part.name(layer: layer), part.shape(config, layer: layer)))
                if biases.contains(part) {
                    order.append((part.name(layer: layer, kind: .bias), part.shape(config, layer: layer, kind: .bias)))
                }
                if config.queryKeyNorm && part.takesHeadNorm {
                    order.append((part.name(layer: layer, kind: .headNorm), [config.headDim]))
                }
            }
        }
        order.append((LlamaTensorNames.tokenEmbedding, [vocab, hidden]))
        return order
    }

    /// The order of `weights` needing less memory for `windows`, with every activation record
    /// kept (`keepActivations`) or none.
    package func cheapestOrder(
        windows: [[Int32]], fisher: Bool, keepActivations: Bool = false
    ) -> WeightGradientOrder {
        let kept = keepActivations ? model.config.layerCount : 0
        let layers = memory(windows: windows, fisher: fisher, order: .layers, keptLayers: kept)
        let byWindow = memory(windows: windows, fisher: fisher, order: .windows, keptLayers: kept)
        return layers.total <= byWindow.total ? .layers : .windows
    }

    /// How many of the last layers `weights` keeps whole activation records of (the rest are
    /// recomputed from their inputs): every layer with `keepActivations`; otherwise the most
    /// whose checkpoints and workspace stay within the model's F32 size (so the peak stays within
    /// twice a forward pass's, plus the accumulators) and whose total stays within
    /// `memoryLimit`, when given.
    package func keptLayers(
        windows: [[Int32]], fisher: Bool, order: WeightGradientOrder, keepActivations: Bool, memoryLimit: Int? = nil
    ) -> Int {
        let layers = model.config.layerCount
        if keepActivations { return layers }
        let budget = model.parameterCount * 4
        var kept = 0
        while kept < layers {
            let next = memory(windows: windows, fisher: fisher, order: order, keptLayers: kept + 1)
            guard next.checkpoints + next.workspace <= budget, next.total <= memoryLimit ?? .max else { break }
            kept += 1
        }
        return kept
    }

    /// The estimated memory of `weights` for `windows` in `order`, beyond the model itself, with
    /// the whole activation records of the last `keptLayers` layers kept.
    package func memory(
        windows: [[Int32]], fisher: Bool, order: WeightGradientOrder, keptLayers: Int = 0
    ) -> GradientMemory {
        let config = model.config, hidden = config.hiddenSize, vocab = config.vocabSize
        let tokens = windows.reduce(0) { $0 + $1.count }, longest = windows.map(\.count).max() ?? 0
        let tied = model.tensor(LlamaTensorNames.output) == nil
        let head = vocab * hidden
        let largestLayer =
            (0..<config.layerCount).map { layer in
                LlamaTensorNames.Layer.allCases.filter { $0.exists(in: config.layers[layer]) }.reduce(0) {
                    $0 + $1.shape(config, layer: layer).reduce(1, *)
                }
            }.max() ?? 0
        let f = fisher ? 1 : 0
        let maxQuery = config.maxQueryWidth, maxKV = config.maxKVWidth, ffn = config.maxFFNSize
        // A block's input per token for each recomputed layer, its whole activation record for each kept one.
        let kept = min(max(keptLayers, 0), config.layerCount), recorded = Self.recordFloatsPerToken(config)
        let perToken = (config.layerCount - kept) * hidden + kept * recorded
        let floats: (checkpoints: Int, accumulators: Int)
        switch order {
        case .layers:
            // Inputs of every block, final states and state gradients of every window; the output
            // and embedding sums (one when tied; with Fisher, their squares and a window's head
            // copy), one layer's sums (with Fisher, its squares and a window's copy).
            floats = (
                tokens * perToken + 2 * tokens * hidden,
                head * (tied ? 1 + 2 * f : 2 + 3 * f) + largestLayer * (1 + 2 * f)
            )
        case .windows:
            floats = (
                longest * perToken + 2 * longest * hidden,
                model.parameterCount * (1 + f) + f * (largestLayer + head)
            )
        }
        let record = kept == config.layerCount ? 0 : longest * recorded
        let scratch = longest * (2 * ffn + hidden + 2 * maxQuery + 2 * maxKV) + 2 * 256 * longest
        let logits = min(ForwardPass.headBlock, max(longest, 1)) * vocab + 2 * longest * hidden
        return GradientMemory(
            checkpoints: floats.checkpoints * 4, accumulators: floats.accumulators * 4,
            workspace: (record + scratch + logits) * 4)
    }

    /// `∂L/∂g` at `g = 1` for gates on every unit of every layer (`layers`: the ones asked for,
    /// nil for all), without weight gradients: windows one at a time, the backward's input
    /// gradients only. Each requested layer must have the sub-block of each requested unit.
    ///
    /// With `mixes` (one per layer, nil for a layer left alone) the stream is SCOP's mixed one and
    /// the mixed units' entries are the gradients of their β (`UnitMix`); `prepare` runs before
    /// each window's forward (with its index), to set the mixes' knockoff sources; without
    /// `layers`, the gates below the lowest mixed layer are left at zero (the reverse pass stops
    /// there). `perToken` sums each token's gate term as its absolute value, `Σ_t |x_t·∂L/∂x_t|`
    /// over the unit's inputs (Michel et al.'s head importance; not with `mixes`). The last layers
    /// whose activation records for one window fit in the model's F32 size and in `memoryLimit`
    /// (bytes) keep them from the forward, unless `keptLayers` names how many of the last layers
    /// do; the others are recomputed from their inputs (the same values).
    ///
    /// - Throws: `InferenceError` for bad windows, a layer out of range, or a unit a layer lacks
    ///   (heads or KV groups of a layer without attention, channels of one without an FFN); what
    ///   `prepare` throws.
    package func gates(
        windows: [[Int32]], units: Set<GateUnit>, layers: [Int]? = nil, mixes: [UnitMix?]? = nil,
        prepare: ((Int) throws -> Void)? = nil, perToken: Bool = false, keptLayers: Int? = nil,
        memoryLimit: Int? = nil
    ) throws -> GateGradients {
        precondition(mixes.map { $0.count == model.config.layerCount } ?? true, "gates: one mix per layer")
        precondition(mixes == nil || !perToken, "gates: per-token absolute terms are for unmixed gates")
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
        // The reverse pass stops at the lowest layer whose gates are asked for or mixed (with
        // mixes and no layers: the lowest mixed one).
        let mixed = mixes?.indices.filter { mixes![$0] != nil } ?? []
        let lowest = (layers.map { $0 + mixed } ?? mixed).min() ?? 0
        // Selective checkpointing as in `weights`: the last layers whose whole records fit in the
        // model's F32 size (and the memory limit) keep them from the forward; the others are
        // recomputed from their inputs.
        let recordBytes = 4 * capacity * Self.recordFloatsPerToken(config)
        let budget = min(model.parameterCount * 4, memoryLimit ?? .max)
        let keptCount = min(config.layerCount - lowest, max(keptLayers ?? budget / max(recordBytes, 1), 0))
        let records = (0..<config.layerCount).map {
            $0 >= config.layerCount - keptCount ? LayerActivationRecord() : nil
        }
        for (index, window) in windows.enumerated() {
            try cancellation?.check()
            try prepare?(index)
            let state = Self.embed(window, weights)
            // The inputs of the layers the backward recomputes.
            var inputs: [TensorStorage?] = []
            for layer in 0..<config.layerCount {
                inputs.append(
                    layer < lowest || records[layer] != nil
                        ? nil : TensorStorage(count: state.count) { _ = $0.update(fromContentsOf: state.buffer) })
                try forward.run(
                    layer: layer, input: state.buffer.baseAddress!, rows: window.count,
                    output: state.buffer.baseAddress!, observe: nil, record: records[layer], mix: mixes?[layer])
            }
            total += window.withUnsafeBufferPointer { ids in
                loss.run(
                    states: state.buffer.baseAddress!, rows: window.count, tokens: ids.baseAddress!, scale: scale,
                    outputWeight: weights.output, normWeight: weights.outputNorm,
                    stateGradient: gradient.buffer.baseAddress!, outputGradient: nil, accumulate: false,
                    normGradient: nil)
            }
            for layer in (lowest..<config.layerCount).reversed() {
                let mix = mixes?[layer]
                if records[layer] == nil {
                    let input = inputs[layer]!.buffer.baseAddress!
                    // The recomputation mixes in the knockoffs the forward drew, not new ones.
                    let fill = mix?.knockoff
                    mix?.knockoff = nil
                    defer { mix?.knockoff = fill }
                    try forward.run(
                        layer: layer, input: input, rows: window.count, output: input, observe: nil, record: record,
                        recordOnly: true, mix: mix)
                }
                withUnsafeMutablePointer(to: &result[layer]) { gates in
                    backward.run(
                        weights.layer(layer), record: records[layer] ?? record, rows: window.count,
                        gradient: gradient.buffer.baseAddress!, weightGradients: nil, accumulate: false, gates: gates,
                        mix: mix, perToken: perToken)
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

    /// The floats of one layer's whole activation record per token, at the model's widest layer.
    private static func recordFloatsPerToken(_ config: LlamaConfig) -> Int {
        4 * config.hiddenSize + 2 * config.maxQueryWidth + 2 * config.maxKVWidth + 3 * config.maxFFNSize
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
    static func embed(_ window: [Int32], _ weights: ModelWeights) -> TensorStorage {
        let storage = TensorStorage(zeros: window.count * weights.config.hiddenSize)
        weights.embed(window, into: storage.buffer.baseAddress!)
        return storage
    }
}
