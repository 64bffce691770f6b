import ModelIO

/// What `BlockGradients.run` returns for one block and one window.
package struct BlockGradientResult {
    /// The block's output `Y` for the window, `rows × hidden` (computed with the masked weights).
    package let output: [Float]
    /// `∂L/∂X`, the gradient with respect to the block input, `rows × hidden`.
    package let inputGradient: [Float]
    /// `∂L/∂W̃` per tensor name, for the effective weights `W̃ = W ⊙ M` (`W` where unmasked).
    package let weights: [String: [Float]]
    /// `∂L/∂M = ∂L/∂W̃ ⊙ W` per masked tensor name (straight-through soft masks).
    package let masks: [String: [Float]]
}

/// Gradients of a loss on one decoder block's outputs (e.g. BESA's reconstruction error
/// against the dense outputs) with respect to the block's weights, to per-weight soft masks
/// (the effective weight being `W ⊙ M`) and to the block input, by running the block's forward
/// with a record and its reverse pass. Any layer shape works (heterogeneous heads, KV heads,
/// FFN width, a missing sub-block).
///
/// Not thread-safe: one instance per thread.
package final class BlockGradients {
    /// The model whose layers are differentiated (its tensors are read at each call).
    package let model: Model
    /// The most rows a window may have.
    package let capacity: Int
    private let forward: DecoderLayerForward
    private let backward: DecoderLayerBackward
    private let record = LayerActivationRecord()

    /// Buffers for windows of up to `capacity` rows of any layer of `model`.
    ///
    /// - Throws: `InferenceError` if `capacity` is not positive.
    package init(model: Model, capacity: Int) throws(InferenceError) {
        self.model = model
        self.capacity = capacity
        forward = try DecoderLayerForward(model: model, capacity: capacity)
        backward = DecoderLayerBackward(config: model.config, capacity: capacity)
    }

    /// Runs layer `layer` on `input` (`rows × hidden`) with each tensor named in `masks`
    /// multiplied element-wise by its mask, asks `outputGradient` for `∂L/∂Y` given the output
    /// `Y`, and returns the gradients. The model is left as it was.
    ///
    /// - Throws: `InferenceError` for a layer or row count out of range, an input or output
    ///   gradient of the wrong size, or a mask that names no tensor of this layer or has the
    ///   wrong size; and what `outputGradient` throws.
    package func run(
        layer: Int, input: [Float], rows: Int, masks: [String: [Float]] = [:],
        outputGradient: ([Float]) throws -> [Float]
    ) throws -> BlockGradientResult {
        let config = model.config, hidden = config.hiddenSize
        guard (0..<config.layerCount).contains(layer) else {
            throw InferenceError("block gradients: layer \(layer) is outside 0..<\(config.layerCount)")
        }
        guard (1...capacity).contains(rows), input.count == rows * hidden else {
            throw InferenceError(
                "block gradients: layer \(layer) needs 1...\(capacity) rows of \(hidden) inputs, got \(input.count) "
                    + "values for \(rows) rows")
        }
        var originals: [String: Tensor] = [:]
        for (name, mask) in masks {
            guard let parsed = LlamaTensorNames.parse(name), parsed.layer == layer, let tensor = model.tensor(name),
                tensor.count == mask.count
            else {
                throw InferenceError(
                    "block gradients: mask \(name) names no tensor of layer \(layer) with \(mask.count) elements")
            }
            originals[name] = tensor
        }
        defer { for tensor in originals.values { model.replace(tensor) } }
        for (name, tensor) in originals {
            let mask = masks[name]!
            let masked = TensorStorage(count: tensor.count) { buffer in
                for i in 0..<tensor.count { buffer[i] = tensor.storage.buffer[i] * mask[i] }
            }
            model.replace(Tensor(name: name, shape: tensor.shape, storage: masked, sourceType: tensor.sourceType))
        }
        var output = input
        try output.withUnsafeMutableBufferPointer { buffer throws(InferenceError) in
            try forward.run(
                layer: layer, input: buffer.baseAddress!, rows: rows, output: buffer.baseAddress!, observe: nil,
                record: record)
        }
        var gradient = try outputGradient(output)
        guard gradient.count == rows * hidden else {
            throw InferenceError(
                "block gradients: the output gradient of layer \(layer) has \(gradient.count) values, not \(rows * hidden)"
            )
        }
        let weights = ModelWeights(model)
        let gradients = LayerGradients(config: config, layer: layer)
        gradient.withUnsafeMutableBufferPointer { buffer in
            backward.run(
                weights.layer(layer), record: record, rows: rows, gradient: buffer.baseAddress!,
                weightGradients: gradients, accumulate: false, gates: nil)
        }
        withExtendedLifetime(weights) {}
        var named: [String: [Float]] = [:]
        for (part, storage) in gradients.tensors { named[part.name(layer: layer)] = Array(storage.buffer) }
        var maskGradients: [String: [Float]] = [:]
        for (name, tensor) in originals {
            let g = named[name]!
            maskGradients[name] = (0..<g.count).map { g[$0] * tensor.storage.buffer[$0] }
        }
        return BlockGradientResult(output: output, inputGradient: gradient, weights: named, masks: maskGradients)
    }
}
