import Inference
import ModelIO

/// Gathers an importance matrix (llama.cpp's imatrix) for a model with Shears' own statistics:
/// the calibration windows go through the model layer by layer (the engine's
/// `CalibrationActivations` and `DecoderLayerForward`), each linear input's x² summed per channel
/// (`InputStatistics`), one entry per linear matrix the model has now (after any structured
/// prune, its shapes are the pruned ones).
package enum ImportanceMatrixCollector {
    /// The imatrix of `model` over `windows`: per linear matrix, the sum of x² over every token
    /// of every window and the token count; `datasets` names the calibration source.
    ///
    /// - Throws: `PruneError` for bad or missing windows, non-finite activations, or cancellation.
    package static func collect(
        model: Model, windows: [[Int32]], datasets: [String], path: String, cancellation: Cancellation? = nil
    ) throws(PruneError) -> ImportanceMatrix {
        let activations = try CalibrationActivations(model: model, windows: windows, cancellation: cancellation)
        let forward: DecoderLayerForward
        do { forward = try DecoderLayerForward(model: model, capacity: activations.longest) } catch {
            throw PruneError("imatrix: \(error)")
        }
        var entries: [ImportanceMatrix.Entry] = []
        for layer in 0..<model.config.layerCount {
            let parts = LinearMatrix.parts.filter { $0.exists(in: model.config.layers[layer]) }
            var statistics: [LinearInputSite: InputStatistics] = [:]
            for part in parts where statistics[LinearMatrix.site(part)] == nil {
                statistics[LinearMatrix.site(part)] = InputStatistics(
                    columns: model.tensor(part.name(layer: layer))!.columns, requirement: .squaredNorms)
            }
            _ = try activations.forwardDense(forward, layer: layer, statistics: statistics)
            activations.adoptDense()
            for part in parts {
                let input = statistics[LinearMatrix.site(part)]!
                // squaredNorms is the mean over windows of each window's sum: times the windows,
                // the sum over every token.
                let windows = Float(input.sequences)
                entries.append(
                    ImportanceMatrix.Entry(
                        name: part.name(layer: layer), sumOfSquares: input.squaredNorms.map { $0 * windows },
                        count: Double(input.tokens)))
            }
        }
        let lengths = Set(windows.map(\.count))
        return ImportanceMatrix(
            path: path, format: .gguf, entries: entries, datasets: datasets, chunkCount: windows.count,
            chunkSize: lengths.count == 1 ? lengths.first : nil)
    }
}
