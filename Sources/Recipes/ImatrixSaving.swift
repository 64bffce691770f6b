import Inference
import ModelIO
import PruningEngine
import Reports

/// Writing an importance matrix of a model from Shears' own statistics, for `shears imatrix`,
/// `shears prune --save-imatrix` and `m:save_imatrix(...)` alike.
package enum ImatrixSaving {
    /// Gathers the imatrix of `model` as it is now over `calibration` (`ImportanceMatrixCollector`)
    /// and writes it to `path` in llama.cpp's GGUF layout; returns it.
    ///
    /// - Throws: `CommandFailure`: exit 2 for bad windows, non-finite activations or an I/O error,
    ///   1 when `cancellation` stops it (a command's `CancellationScope` knows the exact status).
    @discardableResult
    package static func save(
        model: Model, calibration: CalibrationSet, to path: String, cancellation: Cancellation? = nil
    ) throws(CommandFailure) -> ImportanceMatrix {
        let matrix: ImportanceMatrix
        do {
            matrix = try ImportanceMatrixCollector.collect(
                model: model, windows: calibration.windows, datasets: [calibration.source], path: path,
                cancellation: cancellation)
        } catch {
            if error.cancellation != nil { throw .runFailed(error.message) }
            throw .badInput("imatrix \(path): \(error.message)")
        }
        do { try matrix.write(to: path) } catch { throw .badInput(error.description) }
        return matrix
    }

    /// A journal identity's calibration field for a prune on the imatrix at `path`: its hash, so
    /// that a resume with another imatrix is refused.
    package static func journalCalibration(imatrix path: String) -> String {
        "imatrix " + (SHA256.hex(ofFile: path) ?? "")
    }
}
