import ArgumentParser
import Inference
import ModelIO
import Recipes

/// The calibration flags `shears prune` and `shears gradients` share (`CalibrationRequest`'s
/// command-line form): a text, token ids or self-generated text, and the windows drawn from it.
struct CalibrationOptions: ParsableArguments {
    @Option(help: "Calibration text (UTF-8).", completion: .file())
    var calib: String?

    @Flag(help: "Calibrate on text the model generates itself.")
    var calibGenerate = false

    @Option(help: "Calibrate on token ids (int32 little-endian) instead of a text.", completion: .file())
    var calibIds: String?

    @Option(
        help: "Start offsets of the calibration windows (one per line) instead of random ones.", completion: .file())
    var calibOffsets: String?

    @Option(help: "Calibration windows (default \(CalibrationRequest.defaultSamples)).")
    var samples = CalibrationRequest.defaultSamples

    @Option(help: "Tokens per calibration window (default \(CalibrationRequest.defaultSeqlen)).")
    var seqlen = CalibrationRequest.defaultSeqlen

    @Option(help: "Seed of the calibration windows.")
    var seed = CalibrationRequest.defaultSeed

    @OptionGroup var textOptions: TextOptions

    /// Whether a source of calibration tokens is given.
    var isGiven: Bool { calib != nil || calibIds != nil || calibGenerate }

    func validate() throws {
        if [calib != nil, calibGenerate, calibIds != nil].filter({ $0 }).count > 1 {
            throw ValidationError("give at most one of --calib, --calib-ids and --calib-generate")
        }
        if calibOffsets != nil, calib == nil, calibIds == nil {
            throw ValidationError("--calib-offsets needs --calib or --calib-ids")
        }
        guard samples >= 1, seqlen >= 2 else {
            throw ValidationError("--samples must be positive and --seqlen at least 2")
        }
    }

    /// The calibration set the flags describe for `model` (nil: no source given); a progress bar
    /// follows self-generation, which `scope` can cancel.
    func makeSet(for model: Model, cancellation scope: CancellationScope) throws -> CalibrationSet? {
        var request: CalibrationRequest
        if calibGenerate {
            request = CalibrationRequest(source: .generated)
        } else if let calibIds {
            request = CalibrationRequest(source: .ids(calibIds))
        } else if let calib {
            request = CalibrationRequest(source: .text(calib))
        } else {
            return nil
        }
        request.samples = samples
        request.seqlen = seqlen
        request.seed = seed
        request.reading = textOptions.reading
        if let calibOffsets { request.offsets = (try InputFiles.readOffsets(calibOffsets), calibOffsets) }
        let bar = calibGenerate ? ProgressBar("self-calibration", total: samples, unit: "sample") : nil
        defer { bar?.finish() }
        do {
            return try request.makeSet(for: model, cancellation: scope.cancellation) { done, _ in
                bar?.update(done: done, work: Double(done))
            }
        } catch let error as InferenceError {
            if let failure = scope.failure { throw failure }
            throw CommandFailure.badInput("calibration: \(error.message)")
        }
    }
}
