import ArgumentParser
import BuiltinMethods
import Foundation
import Inference
import ModelIO
import PruningEngine
import Recipes

/// `shears prune MODEL --method wanda --sparsity 0.5 --out OUT`: one method, no recipe needed.
struct Prune: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Prune a model with one built-in method and write it out.",
        discussion: """
            Calibration windows come from a text (--calib, random windows drawn exactly as the \
            Wanda/SparseGPT reference code draws them for --seed), from the model itself \
            (--calib-generate, no data needed), or are not needed (magnitude). --pattern N:M keeps \
            at most N nonzero weights in every M consecutive weights of a row (the sparse-hardware \
            convention). --owl spreads the sparsity over the layers by their outlier ratios (OWL); \
            --dsnot refines the chosen mask of q/k/v/o without updating weights (DSnoT). The output \
            records the method, calibration and sparsity in shears.* metadata. For other chains, \
            per-layer control and evaluation, write a recipe (shears run).
            """)

    /// The built-in methods.
    enum Method: String, ExpressibleByArgument, CaseIterable {
        case magnitude, wanda, sparsegpt, ria
    }

    @OptionGroup var source: ModelArgument

    @Option(help: "The method: \(Method.allCases.map(\.rawValue).joined(separator: ", ")).")
    var method: Method

    @Option(help: "Fraction of each linear matrix to prune, in [0, 1) (implied by --pattern).")
    var sparsity: Double?

    @Option(help: "N:M semi-structured pattern, e.g. 2:4.")
    var pattern: String?

    @Flag(help: "Allocate per-layer sparsities with OWL (outlier-weighed) instead of one for all layers.")
    var owl = false

    @Option(name: .customLong("owl-m"), help: "OWL's outlier multiplier M (default 5; with --owl).")
    var owlM: Double?

    @Option(help: "OWL's spread λ around the target sparsity (default 0.08; with --owl).")
    var owlLambda: Double?

    @Flag(help: "Refine the mask with DSnoT (grow-and-prune cycles; magnitude, wanda or ria).")
    var dsnot = false

    @Flag(help: "RIA with an N:M pattern: choose the channel permutation that keeps the most importance.")
    var permute = false

    @Option(help: "Calibration text (UTF-8).", completion: .file())
    var calib: String?

    @Flag(help: "Calibrate on text the model generates itself.")
    var calibGenerate = false

    @Option(help: "Calibrate on token ids (int32 little-endian) instead of a text.", completion: .file())
    var calibIds: String?

    @Option(help: "Start offsets of the calibration windows (one per line) instead of random ones.", completion: .file())
    var calibOffsets: String?

    @Flag(help: "Also measure the sgemm rate in the same process and print the phase figures (benchmark).")
    var bench = false

    @Option(help: "Calibration windows.")
    var samples = 64

    @Option(help: "Tokens per calibration window.")
    var seqlen = 512

    @Option(help: "Seed of the calibration windows.")
    var seed = 0

    @Option(help: "Tensors to prune (globs, repeatable; default every linear matrix).")
    var target: [String] = []

    @Option(help: "Tensors to leave dense (globs, repeatable).")
    var ignore: [String] = []

    @Option(help: "The output .gguf file or Hugging Face directory.", completion: .file())
    var out: String

    @Option(help: "Element type of the output: f32, f16, bf16 or q8_0 (all keep zeros exact).")
    var type: OutputType = .f16

    @OptionGroup var textOptions: TextOptions

    func validate() throws {
        if let sparsity, !(0..<1).contains(sparsity) {
            throw ValidationError("--sparsity must be in [0, 1) (got \(sparsity))")
        }
        if sparsity == nil, pattern == nil { throw ValidationError("give --sparsity or --pattern") }
        if [calib != nil, calibGenerate, calibIds != nil].filter({ $0 }).count > 1 {
            throw ValidationError("give at most one of --calib, --calib-ids and --calib-generate")
        }
        if !owl, owlM != nil || owlLambda != nil {
            throw ValidationError("--owl-m and --owl-lambda set OWL's parameters: add --owl")
        }
        if dsnot, method == .sparsegpt {
            throw ValidationError("--dsnot refines a mask before any weight update; SparseGPT chooses its mask while updating weights")
        }
        if permute, method != .ria || pattern == nil || owl || dsnot {
            throw ValidationError("--permute applies to --method ria with an N:M --pattern (and neither --owl nor --dsnot)")
        }
        if method != .magnitude || owl || dsnot, calib == nil, calibIds == nil, !calibGenerate {
            throw ValidationError("\(owl || dsnot ? "this prune" : method.rawValue) needs calibration data: --calib FILE, --calib-ids FILE or --calib-generate")
        }
        if calibOffsets != nil, calib == nil, calibIds == nil {
            throw ValidationError("--calib-offsets needs --calib or --calib-ids")
        }
        guard samples >= 1, seqlen >= 2 else { throw ValidationError("--samples must be positive and --seqlen at least 2") }
    }

    func run() throws {
        if ModelFormat.forOutput(path: out) == .gguf, FileManager.default.fileExists(atPath: out),
           URL(fileURLWithPath: out).standardizedFileURL == URL(fileURLWithPath: source.model).standardizedFileURL {
            throw CommandFailure.badInput("\(out): refusing to overwrite the input model; choose another output path")
        }
        let directory = URL(fileURLWithPath: out).deletingLastPathComponent().path
        guard FileManager.default.isWritableFile(atPath: directory) else {
            throw CommandFailure.badInput("\(out): the output directory \(directory) does not exist or is not writable")
        }
        let model = try source.load()
        let recipe = try makeRecipe()
        let calibration = try makeCalibration(model)
        let report: PruneReport
        do {
            if bench {
                var options = PruneOptions()
                if !target.isEmpty { options.targets = target.map(TensorNamePattern.init) }
                options.ignore = ignore.map(TensorNamePattern.init)
                let measured = try PruneBenchmark.run(model: model, steps: recipe.steps, calibration: calibration?.windows ?? [],
                                                      options: options)
                print(measured.summary)
                report = measured.prune
            } else {
                report = try PruneSession.run(model: model, recipes: [recipe], calibration: calibration?.windows ?? [],
                                              calibrationSource: calibration?.source ?? "none",
                                              targets: target.isEmpty ? nil : target, ignore: ignore)
            }
        } catch {
            throw CommandFailure.badInput(error.message)
        }
        try ModelWriter.write(model, to: out, type: type, annotations: ["version": ShearsVersion.number])
        print(String(format: "%@: linear sparsity %.4f in %.1f s (forwards %.1f s, statistics %.1f s, selection %.1f s, reconstruction %.1f s) -> %@",
                     recipe.description, report.sparsity, report.seconds, report.times.forwards, report.times.statistics,
                     report.times.selection, report.times.reconstruction, out))
    }

    private func makeRecipe() throws(CommandFailure) -> PruneRecipe {
        do {
            let parsed = try pattern.map { text throws(PruneError) in try SparsityPattern(parsing: text) } ?? .unstructured
            // With OWL in front, the method takes its per-layer sparsity (or N:M) from OWL.
            let (methodSparsity, methodPattern) = owl ? (nil, SparsityPattern.unstructured) : (sparsity, parsed)
            var steps: [any PruneStep] = owl
                ? try PruneMethod.owl(sparsity: sparsity, pattern: parsed, outlierMultiplier: owlM ?? 5, lambda: owlLambda ?? 0.08) : []
            let method: [any PruneStep] = switch self.method {
            case .magnitude: try PruneMethod.magnitude(sparsity: methodSparsity, pattern: methodPattern)
            case .wanda: try PruneMethod.wanda(sparsity: methodSparsity, pattern: methodPattern)
            case .sparsegpt: try PruneMethod.sparseGPT(sparsity: methodSparsity, pattern: methodPattern)
            case .ria: try PruneMethod.ria(sparsity: methodSparsity, pattern: methodPattern, permute: permute)
            }
            steps += method
            if dsnot { steps += try PruneMethod.dsnot() }
            var parts = [PruneRecipe.describe(self.method.rawValue, [("sparsity", sparsity.map { "\($0)" }), ("pattern", pattern),
                                                               ("permute", permute ? "true" : nil)])]
            if owl { parts.insert(PruneRecipe.describe("owl", [("m", "\(owlM ?? 5)"), ("lambda", "\(owlLambda ?? 0.08)")]), at: 0) }
            if dsnot { parts.append("dsnot()") }
            return PruneRecipe(steps: steps, description: parts.joined(separator: " + "))
        } catch {
            throw .badInput(error.message)
        }
    }

    private func makeCalibration(_ model: Model) throws -> CalibrationSet? {
        do {
            if calibGenerate {
                let bar = ProgressBar("self-calibration", total: samples, unit: "sample")
                defer { bar.finish() }
                return try CalibrationSet.generated(by: model, samples: samples, seqlen: seqlen, seed: UInt64(seed), temperature: 1) {
                    done, _ in bar.update(done: done, work: Double(done))
                }
            }
            let tokens: [Int32]
            let source: String
            if let calibIds {
                tokens = try InputFiles.readIDs(calibIds, vocabularySize: model.config.vocabSize)
                source = calibIds
            } else if let calib {
                tokens = try textOptions.encode(calib, for: model)
                source = calib
            } else {
                return nil
            }
            if let calibOffsets {
                let offsets = try InputFiles.readOffsets(calibOffsets)
                return try CalibrationSet.windows(from: tokens, offsets: offsets, seqlen: seqlen,
                                                  source: "\(source), \(offsets.count) windows of \(seqlen) at \(calibOffsets)")
            }
            return try CalibrationSet.random(from: tokens, samples: samples, seqlen: seqlen, seed: UInt64(seed), source: source)
        } catch let error as InferenceError {
            throw CommandFailure.badInput("calibration: \(error.message)")
        }
    }
}
