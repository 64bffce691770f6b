extension Model {
    /// The bias of `part` in `layer` (q/k/v, `attn_output` or `ffn_down`), or nil when it has none.
    public func bias(of part: LlamaTensorNames.Layer, layer: Int) -> Tensor? {
        tensor(part.name(layer: layer, kind: .bias))
    }

    /// Gives `part` of `layer` the bias `values` (`hidden` values added to its output), replacing
    /// any it had; nil removes it. Only `attn_output` and `ffn_down` take a bias, and only in a
    /// layer that has the sub-block.
    ///
    /// - Throws: `ModelIOError` naming the tensor when the part takes no bias, the layer lacks
    ///   the sub-block, or `values` is not `hidden` finite numbers.
    public func setBias(_ values: [Float]?, of part: LlamaTensorNames.Layer, layer: Int) throws(ModelIOError) {
        let name = part.name(layer: layer, kind: .bias)
        guard part.takesOutputBias else {
            throw ModelIOError(path: sourcePath, item: name, "only attn_output and ffn_down take a bias")
        }
        guard (0..<config.layerCount).contains(layer), part.exists(in: config.layers[layer]) else {
            throw ModelIOError(
                path: sourcePath, item: name,
                layer < config.layerCount && layer >= 0
                    ? "layer \(layer) has no \(part.isAttention ? "attention" : "FFN")"
                    : "no such layer: the model has layers 0...\(config.layerCount - 1)")
        }
        guard let values else {
            if tensorsByName.removeValue(forKey: name) != nil { tensorNames.removeAll { $0 == name } }
            return
        }
        guard values.count == config.hiddenSize else {
            throw ModelIOError(
                path: sourcePath, item: name, "has \(values.count) values; the hidden size is \(config.hiddenSize)")
        }
        if let index = values.firstIndex(where: { !$0.isFinite }) {
            throw ModelIOError(
                path: sourcePath, item: name, "element \(index) is \(values[index]); a bias must be finite")
        }
        let tensor = Tensor(name: name, shape: [config.hiddenSize], storage: TensorStorage(values))
        if tensorsByName.updateValue(tensor, forKey: name) == nil {
            // Right after the matrix it belongs to, as llama.cpp's converters order them.
            let after = tensorNames.firstIndex(of: part.name(layer: layer))!
            tensorNames.insert(name, at: after + 1)
        }
    }
}
