import ArgumentParser
import Foundation
import Inference
import ModelIO
import Recipes

/// `shears imatrix MODEL --calib FILE --out F.gguf`: an importance matrix for llama.cpp from
/// Shears' own statistics.
struct ImatrixCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "imatrix",
        abstract: "Write a llama.cpp importance matrix (GGUF) of a model over calibration windows.",
        discussion: """
            Each calibration window runs through the model from position 0 (no BOS added, as \
            in pruning); per linear matrix, the sum of each input channel's x² over every token \
            and the token count are written as llama-imatrix writes them (<tensor>.in_sum2, \
            <tensor>.counts, imatrix.datasets, imatrix.chunk_count, imatrix.chunk_size), for \
            llama-quantize --imatrix or shears prune --imatrix. The shapes are the model's own, \
            so a structurally pruned model gets an imatrix that fits it. output.weight has no \
            entry (as llama-imatrix without --process-output).
            """)

    @OptionGroup var source: ModelArgument

    @OptionGroup var calibration: CalibrationOptions

    @Option(help: "The output .gguf file.", completion: .file())
    var out: String

    func validate() throws {
        guard calibration.isGiven else {
            throw ValidationError(
                "an imatrix needs calibration data: --calib FILE, --calib-ids FILE or --calib-generate")
        }
    }

    func run() throws {
        guard URL(fileURLWithPath: out).standardizedFileURL != URL(fileURLWithPath: source.model).standardizedFileURL
        else {
            throw CommandFailure.badInput("\(out): refusing to overwrite the input model; choose another output path")
        }
        let directory = URL(fileURLWithPath: out).deletingLastPathComponent().path
        guard FileManager.default.isWritableFile(atPath: directory) else {
            throw CommandFailure.badInput("\(out): the output directory \(directory) does not exist or is not writable")
        }
        let scope = CancellationScope()
        let model = try source.load()
        let set = try calibration.makeSet(for: model, cancellation: scope)!
        try Self.write(model: model, calibration: set, to: out, cancellation: scope)
    }

    /// Gathers and writes the imatrix, printing one line; shared with `shears prune --save-imatrix`.
    static func write(
        model: Model, calibration: CalibrationSet, to path: String, cancellation scope: CancellationScope
    )
        throws
    {
        var clock = Stopwatch()
        let matrix: ImportanceMatrix
        do {
            matrix = try ImatrixSaving.save(
                model: model, calibration: calibration, to: path, cancellation: scope.cancellation)
        } catch {
            if let failure = scope.failure { throw failure }
            throw error
        }
        print(
            String(
                format: "imatrix of %d matrices over %d windows (%@) in %.1f s -> %@", matrix.entries.count,
                calibration.windows.count, calibration.source, clock.lap(), path))
    }
}
