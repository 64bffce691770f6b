/// A structural edit: units of a model removed physically, so that its tensors shrink.
///
/// Indices are 0-based. Query head `h` of a layer owns rows `h·D ..< (h+1)·D` of `attn_q` and
/// the same columns of `attn_output` (D the head dimension); query heads form contiguous groups
/// over the key/value heads, so KV group `g` owns rows `g·D ..< (g+1)·D` of `attn_k` and
/// `attn_v` and query heads `g·G ..< (g+1)·G` (G query heads per group). FFN channel `c` owns
/// row `c` of `ffn_gate` and `ffn_up` and column `c` of `ffn_down`. Hidden channel `c` owns
/// column `c` of the token embedding, of `output` and of every layer's q/k/v/gate/up, row `c` of
/// every `attn_output`/`ffn_down` (and entry `c` of their biases), and entry `c` of every norm.
/// q/k/v biases (Qwen2) go with their rows; q/k head norms (Qwen3) act within a head and stay.
public enum StructuralRemoval: Sendable, Equatable {
    /// Whole decoder layers; the layers after them are renumbered.
    case blocks([Int])
    /// Query heads of one layer. Every KV group must lose the same number of heads (llama.cpp
    /// splits a layer's query heads evenly over its KV heads); removing all of them removes
    /// the layer's attention.
    case queryHeads(layer: Int, [Int])
    /// Key/value groups of one layer, with the query heads that read them; removing all of them
    /// removes the layer's attention.
    case kvGroups(layer: Int, [Int])
    /// FFN channels of one layer; removing all of them removes the layer's FFN.
    case ffnChannels(layer: Int, [Int])
    /// A layer's whole attention sub-block (its norm, four matrices and output bias).
    case attention(layer: Int)
    /// A layer's whole FFN sub-block (its norm, three matrices and down bias).
    case ffn(layer: Int)
    /// Channels of the residual stream, in every layer at once (Minitron's embedding axis).
    case hiddenChannels([Int])
}

extension Model {
    /// Removes the units `removal` names: the tensors shrink, `config` records the new shapes,
    /// and every later forward pass, statistic and writer sees the smaller model. The result
    /// equals the unshrunk model with the removed units' outputs zeroed (their `attn_output`
    /// columns, `ffn_down` columns, or the whole block's residual contribution).
    ///
    /// Checks everything before changing anything: on error the model is unchanged.
    ///
    /// - Throws: `ModelIOError` naming the layer and what is wrong (index out of range, repeated,
    ///   heads removed unevenly over the KV groups, no layer left).
    public func remove(_ removal: StructuralRemoval) throws(ModelIOError) {
        func fail(_ item: String, _ message: String) -> ModelIOError {
            ModelIOError(path: sourcePath, item: item, message)
        }
        func checkLayer(_ layer: Int) throws(ModelIOError) {
            guard (0..<config.layerCount).contains(layer) else {
                throw fail("layer \(layer)", "no such layer: the model has layers 0...\(config.layerCount - 1)")
            }
        }
        func checkIndices(
            _ indices: [Int], below limit: Int, _ what: String, layer: Int?
        ) throws(ModelIOError) -> Set<Int> {
            let item = layer.map { "layer \($0) \(what)" } ?? what
            guard !indices.isEmpty else { throw fail(item, "no \(what) given") }
            var seen = Set<Int>()
            for index in indices {
                guard (0..<limit).contains(index) else {
                    throw fail(item, "\(what) index \(index) is out of range 0...\(limit - 1)")
                }
                guard seen.insert(index).inserted else { throw fail(item, "\(what) index \(index) is given twice") }
            }
            return seen
        }

        switch removal {
        case .blocks(let blocks):
            let removed = try checkIndices(blocks, below: config.layerCount, "blocks", layer: nil)
            guard removed.count < config.layerCount else {
                throw fail("blocks", "removing all \(config.layerCount) layers leaves no model; keep at least one")
            }
            removeBlocks(removed)

        case .queryHeads(let layer, let heads):
            try checkLayer(layer)
            let shape = config.layers[layer]
            guard shape.hasAttention else { throw fail("layer \(layer) heads", "layer \(layer) has no attention left") }
            let removed = try checkIndices(heads, below: shape.headCount, "heads", layer: layer)
            let group = shape.groupSize
            let perGroup = (0..<shape.kvHeadCount).map { g in
                (g * group..<(g + 1) * group).count { removed.contains($0) }
            }
            guard Set(perGroup).count == 1 else {
                throw fail(
                    "layer \(layer) heads",
                    "every KV group must keep the same number of query heads (llama.cpp splits them evenly); "
                        + "this removes \(perGroup.map(String.init).joined(separator: ", ")) from KV groups "
                        + "0...\(shape.kvHeadCount - 1), whose \(group) heads each are contiguous")
            }
            if removed.count == shape.headCount {
                removeAttention(layer)
                return
            }
            let kept = (0..<shape.headCount).filter { !removed.contains($0) }
            sliceHeads(layer, keptQueryHeads: kept, keptGroups: Array(0..<shape.kvHeadCount))

        case .kvGroups(let layer, let groups):
            try checkLayer(layer)
            let shape = config.layers[layer]
            guard shape.hasAttention else {
                throw fail("layer \(layer) kv_groups", "layer \(layer) has no attention left")
            }
            let removed = try checkIndices(groups, below: shape.kvHeadCount, "kv_groups", layer: layer)
            if removed.count == shape.kvHeadCount {
                removeAttention(layer)
                return
            }
            let keptGroups = (0..<shape.kvHeadCount).filter { !removed.contains($0) }
            let keptHeads = keptGroups.flatMap { g in g * shape.groupSize..<(g + 1) * shape.groupSize }
            sliceHeads(layer, keptQueryHeads: keptHeads, keptGroups: keptGroups)

        case .ffnChannels(let layer, let channels):
            try checkLayer(layer)
            let shape = config.layers[layer]
            guard shape.hasFFN else { throw fail("layer \(layer) channels", "layer \(layer) has no FFN left") }
            let removed = try checkIndices(channels, below: shape.ffnSize, "channels", layer: layer)
            if removed.count == shape.ffnSize {
                removeFFN(layer)
                return
            }
            slice(.ffn, kept: (0..<shape.ffnSize).filter { !removed.contains($0) }, layer: layer)
            config.layers[layer].ffnSize -= removed.count

        case .attention(let layer):
            try checkLayer(layer)
            guard config.layers[layer].hasAttention else {
                throw fail("layer \(layer) attention", "layer \(layer) has no attention left")
            }
            removeAttention(layer)

        case .ffn(let layer):
            try checkLayer(layer)
            guard config.layers[layer].hasFFN else {
                throw fail("layer \(layer) ffn", "layer \(layer) has no FFN left")
            }
            removeFFN(layer)

        case .hiddenChannels(let channels):
            let removed = try checkIndices(channels, below: config.hiddenSize, "hidden channels", layer: nil)
            guard removed.count < config.hiddenSize else {
                throw fail("hidden channels", "removing all \(config.hiddenSize) hidden channels leaves no model")
            }
            try checkHiddenAxis()
            removeHiddenChannels(removed)
        }
    }

    /// Checks that the output projection's tie to the embedding is what the configuration says
    /// (tied: no `output.weight`; untied: one), so that hidden channels can be cut from both.
    ///
    /// - Throws: `ModelIOError` naming `output.weight` and what to do otherwise.
    public func checkHiddenAxis() throws(ModelIOError) {
        let hasOutput = tensorsByName[LlamaTensorNames.output] != nil
        guard hasOutput == config.tiedEmbedding else { return }
        throw ModelIOError(
            path: sourcePath, item: LlamaTensorNames.output,
            config.tiedEmbedding
                ? "the embedding is declared tied to the output, but the model has a separate output.weight; "
                    + "hidden channels would be cut from one and not the other (re-export the model consistently)"
                : "the output is declared untied, but the model has no output.weight; "
                    + "re-export the model consistently before removing hidden channels")
    }

    /// Keeps the hidden channels not in `removed` in every tensor that has the hidden axis.
    private func removeHiddenChannels(_ removed: Set<Int>) {
        slice(.hidden, kept: (0..<config.hiddenSize).filter { !removed.contains($0) }, layer: nil)
        config.hiddenSize -= removed.count
    }

    /// Keeps `keptQueryHeads` (rows of q and its bias, columns of o) and `keptGroups` (rows of k
    /// and v and their biases); head norms act within a head and stay.
    private func sliceHeads(_ layer: Int, keptQueryHeads: [Int], keptGroups: [Int]) {
        let headDim = config.headDim
        func rows(_ heads: [Int]) -> [Int] { heads.flatMap { h in h * headDim..<(h + 1) * headDim } }
        slice(.queryRows, kept: rows(keptQueryHeads), layer: layer)
        if keptGroups.count != config.layers[layer].kvHeadCount {
            slice(.kvRows, kept: rows(keptGroups), layer: layer)
        }
        config.layers[layer].headCount = keptQueryHeads.count
        config.layers[layer].kvHeadCount = keptGroups.count
    }

    /// Keeps the indices `kept` (in order) of `axis` in every tensor that has it
    /// (`ArchitectureDescriptor`'s tensor table): the tensors of layer `layer`, or all tensors
    /// for a model-wide axis (`layer` nil).
    private func slice(_ axis: ArchitectureDescriptor.Axis, kept: [Int], layer: Int?) {
        for name in tensorNames {
            let axes: [ArchitectureDescriptor.Axis]
            if let global = ArchitectureDescriptor.GlobalTensor.all.first(where: { $0.gguf == name }) {
                axes = global.axes
            } else if let (tensorLayer, part, kind) = LlamaTensorNames.parse(name),
                layer == nil || tensorLayer == layer, let tensor = ArchitectureDescriptor.LayerTensor.of(part, kind)
            {
                axes = tensor.axes
            } else {
                continue
            }
            guard axes.contains(axis) else { continue }
            tensorsByName[name] = sliced(
                tensorsByName[name]!, rows: axes[0] == axis ? kept : nil,
                columns: axes.count > 1 && axes[1] == axis ? kept : nil)
        }
    }

    /// The given rows and columns (nil: all) of `tensor`, in the given order; a vector is one
    /// column of rows.
    private func sliced(_ tensor: Tensor, rows keptRows: [Int]?, columns keptColumns: [Int]?) -> Tensor {
        let width = tensor.shape.count == 1 ? 1 : tensor.columns
        let rowIndices = keptRows ?? Array(0..<(tensor.count / width))
        let columnIndices = keptColumns ?? Array(0..<width)
        let source = tensor.storage.buffer
        let storage = TensorStorage(count: rowIndices.count * columnIndices.count) { out in
            var index = 0
            for row in rowIndices {
                if keptColumns == nil {
                    _ = UnsafeMutableBufferPointer(rebasing: out[index..<index + width])
                        .update(fromContentsOf: source[row * width..<(row + 1) * width])
                    index += width
                } else {
                    for column in columnIndices {
                        out[index] = source[row * width + column]
                        index += 1
                    }
                }
            }
        }
        let shape = tensor.shape.count == 1 ? [rowIndices.count] : [rowIndices.count, columnIndices.count]
        return Tensor(name: tensor.name, shape: shape, storage: storage, sourceType: tensor.sourceType)
    }

    private func removeAttention(_ layer: Int) {
        dropTensors { $0.layer == layer && $0.part.isAttention }
        config.layers[layer].headCount = 0
        config.layers[layer].kvHeadCount = 0
    }

    private func removeFFN(_ layer: Int) {
        dropTensors { $0.layer == layer && !$0.part.isAttention }
        config.layers[layer].ffnSize = 0
    }

    private func removeBlocks(_ removed: Set<Int>) {
        dropTensors { removed.contains($0.layer) }
        // New index of each kept layer.
        var renumbered: [Int: Int] = [:]
        for layer in 0..<config.layerCount where !removed.contains(layer) { renumbered[layer] = renumbered.count }
        var names: [String] = []
        var byName: [String: Tensor] = [:]
        for name in tensorNames {
            var tensor = tensorsByName[name]!
            if let (layer, part, kind) = LlamaTensorNames.parse(name) {
                tensor.name = part.name(layer: renumbered[layer]!, kind: kind)
            }
            names.append(tensor.name)
            byName[tensor.name] = tensor
        }
        tensorNames = names
        tensorsByName = byName
        config.layers = config.layers.enumerated().filter { !removed.contains($0.offset) }.map(\.element)
    }

    private func dropTensors(where condition: ((layer: Int, part: LlamaTensorNames.Layer)) -> Bool) {
        let dropped = Set(
            tensorNames.filter { name in LlamaTensorNames.parse(name).map { condition(($0.layer, $0.part)) } ?? false })
        tensorNames.removeAll { dropped.contains($0) }
        for name in dropped { tensorsByName[name] = nil }
    }
}
