import BuiltinMethods
import Inference
import ModelIO
import PluginAPI
import PruningEngine

/// A plugin's unit criterion (ABI 1.1, `SHEARS_CRITERION_UNITS`) scoring the units of a
/// `UnitRemoval` step: per chosen layer, `score_units` sees the matrices the units own (q/k/v or
/// gate/up rows, o/down columns), and when declared the squared norms of the o/down inputs over
/// the dense stream and each window's gate gradients; it writes one score per unit.
public struct PluginUnitScorer: UnitScorer {
    /// The plugin's instance.
    public let criterion: PluginCriterion

    /// "PLUGIN-ID/CRITERION-ID".
    public var name: String { "\(criterion.library.id)/\(criterion.descriptor.id)" }

    /// - Throws: `PluginError` for a criterion of weights.
    public init(_ criterion: PluginCriterion) throws(PluginError) {
        guard criterion.descriptor.isUnitCriterion else {
            throw criterion.error("scores weights, not units (its descriptor lacks SHEARS_CRITERION_UNITS)")
        }
        self.criterion = criterion
    }

    /// One score per unit of `layers` from the plugin.
    ///
    /// - Throws: `PruneError` with the plugin's message when it fails or writes NaN; what the
    ///   dense stream or the gate gradients throw.
    public func scores(_ work: ModelWork, unit: UnitRemoval.Unit, layers: [Int]) throws(PruneError) -> [Int: [Double]] {
        let config = work.model.config, descriptor = criterion.descriptor
        let squares =
            descriptor.statistics.contains(.squaredNorms)
            ? try UnitRemoval.meanSquaredInputs(work, unit: unit, layers: layers) : [:]
        let gates = descriptor.readsGateGradients ? try work.gateGradients(units: [unit.gateUnit], layers: layers) : []
        let windows = work.calibration.count, tokens = work.calibration.reduce(0) { $0 + $1.count }
        var result: [Int: [Double]] = [:]
        for layer in layers {
            let shape = config.layers[layer], headDim = config.headDim
            let (kind, count, width) =
                switch unit {
                case .queryHeads: (SHEARS_UNIT_QUERY_HEADS, shape.headCount, headDim)
                case .kvGroups: (SHEARS_UNIT_KV_GROUPS, shape.kvHeadCount, shape.groupSize * headDim)
                case .channels: (SHEARS_UNIT_FFN_CHANNELS, shape.ffnSize, 1)
                }
            typealias Part = LlamaTensorNames.Layer
            let parts: [Part] = unit == .channels ? [.gate, .up] : [.query, .key, .value]
            let owned = parts.map { work.model.tensor($0.name(layer: layer))! }
            let output = work.model.tensor((unit == .channels ? Part.down : .attentionOutput).name(layer: layer))!
            func view(_ tensor: Tensor) -> shears_tensor_view {
                PluginTensorView(
                    UnsafePointer(tensor.storage.buffer.baseAddress!), shape: [tensor.rows, tensor.columns]
                )
                .raw
            }
            let norms = squares[layer].map { $0.map(Float.init) }
            let gateValues = gates.flatMap { window -> [Float] in
                let layerGates = window.layers[layer]
                let values =
                    switch unit {
                    case .queryHeads: layerGates.heads
                    case .kvGroups: layerGates.kvGroups
                    case .channels: layerGates.channels
                    }
                return values.map(Float.init)
            }
            var input = shears_unit_input()
            input.struct_size = UInt32(MemoryLayout<shears_unit_input>.size)
            input.layer = Int32(layer)
            input.kind = shears_unit_kind(kind)
            input.unit_count = UInt32(count)
            input.unit_width = UInt32(width)
            input.group_size = unit == .channels ? 0 : UInt32(shape.groupSize)
            input.head_dim = unit == .channels ? 0 : UInt32(headDim)
            input.inputs.0 = view(owned[0])
            input.inputs.1 = view(owned[1])
            if owned.count > 2 { input.inputs.2 = view(owned[2]) }
            input.output = view(output)
            input.calibration_sequences = UInt64(windows)
            input.calibration_tokens = UInt64(tokens)
            var scores = [Float](repeating: 0, count: count)
            do throws(PluginError) {
                try withExtendedLifetime((owned, output)) { () throws(PluginError) in
                    try (norms ?? []).withUnsafeBufferPointer { (normBuffer) throws(PluginError) in
                        try gateValues.withUnsafeBufferPointer { (gateBuffer) throws(PluginError) in
                            if norms != nil {
                                input.squared_norms =
                                    PluginTensorView(normBuffer.baseAddress!, shape: [count * width]).raw
                            }
                            if descriptor.readsGateGradients {
                                input.gate_gradients =
                                    PluginTensorView(gateBuffer.baseAddress!, shape: [windows, count]).raw
                            }
                            try withUnsafePointer(to: input) { (pointer) throws(PluginError) in
                                try scores.withUnsafeMutableBufferPointer { (buffer) throws(PluginError) in
                                    try criterion.scoreUnits(pointer, into: buffer.baseAddress!)
                                }
                            }
                        }
                    }
                }
            } catch {
                throw PruneError(error.description)
            }
            if let bad = scores.firstIndex(where: \.isNaN) {
                throw PruneError(criterion.error("score_units wrote NaN for layer \(layer), unit \(bad)").description)
            }
            result[layer] = scores.map(Double.init)
        }
        return result
    }
}
