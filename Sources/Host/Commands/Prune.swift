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
            --dsnot refines the chosen mask of q/k/v/o without updating weights (DSnoT). --param \
            sets any other parameter of the method (see shears methods); the parameters, defaults \
            and checks are those of the recipe functions (shears.wanda{...}). The output records \
            the method, calibration and sparsity in shears.* metadata. For other chains, per-layer \
            control and evaluation, write a recipe (shears run). Under mpirun -np N (Open MPI, when \
            built in: shears --version lists MPI) every rank runs its share of the calibration \
            windows and their statistics are combined; rank 0 writes the output (docs/scaling.md).
            """)

    @OptionGroup var source: ModelArgument

    @Option(
        help: ArgumentHelp(
            "The method: \(MethodRegistry.methods.map(\.name).joined(separator: ", ")).",
            valueName: "name"))
    var method: String

    @Option(help: "Fraction of each linear matrix to prune, in [0, 1) (implied by --pattern).")
    var sparsity: Double?

    @Option(
        help:
            "Fraction of all the model's parameters to remove, for the structured methods that take it (llm-pruner, flap, minitron, scop, blocks, shortened, heads, kv-groups, channels)."
    )
    var params: Double?

    @Option(help: "N:M semi-structured pattern, e.g. 2:4.")
    var pattern: String?

    @Option(
        help: ArgumentHelp(
            "Another parameter of the method, e.g. scope=row (repeatable; see shears methods).",
            valueName: "name=value"))
    var param: [String] = []

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

    @Flag(help: "Also measure the sgemm rate in the same process and print the phase figures (benchmark).")
    var bench = false

    @OptionGroup var calibration: CalibrationOptions

    @Option(
        help: ArgumentHelp(
            "Take Wanda's, RIA's and OWL's per-input statistic from a llama.cpp importance matrix (GGUF or legacy .dat) instead of calibration forwards.",
            valueName: "file"), completion: .file())
    var imatrix: String?

    @Option(
        help: ArgumentHelp(
            "Also write an importance matrix (GGUF) of the pruned model over the calibration windows, for llama-quantize --imatrix.",
            valueName: "file"), completion: .file())
    var saveImatrix: String?

    @Option(help: "Tensors to prune (globs, repeatable; default every linear matrix).")
    var target: [String] = []

    @Option(help: "Tensors to leave dense (globs, repeatable).")
    var ignore: [String] = []

    @Option(help: "The output .gguf file or Hugging Face directory.", completion: .file())
    var out: String

    @Option(
        help: "Also write a JSON run report here (provenance, per-layer outcome, time; see docs/reports.md).",
        completion: .file())
    var report: String?

    @Flag(
        help:
            "Continue an interrupted prune from the last layer its journal (OUT.shears-journal) records; the result is bit-identical."
    )
    var resume = false

    @Flag(help: "Do not journal finished layers beside the output (no --resume after a crash).")
    var noJournal = false

    @Option(
        help: """
            Memory beyond the model (as held: all of it, or two layers when streamed) for the run \
            (e.g. 8G, 512M): calibration activations above it go to a scratch file in --scratch-dir; \
            a gradient-based criterion (LLM-Pruner's Taylor importances, Shortened LLaMA's taylor+, \
            taylor) estimated to need more is refused before any work. Default: physical memory \
            less the model, activations in memory.
            """)
    var maxMemory: String?

    @Option(
        help: """
            Element type of the output: f32, f16, bf16, q8_0, q5_0 or q4_0 (all keep zeros exact). \
            Default: the input's type where it keeps zeros, else the nearest no larger (Q4_1 → q4_0, \
            Q5_K or Q6_K → q5_0); f16 for a safetensors output of a quantized input.
            """)
    var type: OutputType?

    func validate() throws {
        guard let chosen = MethodRegistry.method(named: method) else {
            throw ValidationError(
                "--method must be one of \(MethodRegistry.methods.map(\.name).joined(separator: ", ")), got '\(method)'"
            )
        }
        if chosen.parameter("sparsity") == nil {
            if sparsity != nil || pattern != nil || owl || dsnot || permute {
                let (what, size) =
                    chosen.parameter("remove") != nil
                    ? ("whole blocks", "--param remove=N or --params P")
                    : ("structures", "--param ratio=R or --params P")
                throw ValidationError(
                    "--method \(method) removes \(what): give \(size) (no --sparsity, --pattern, --owl, --dsnot or --permute; chain it with other methods in a recipe)"
                )
            }
        } else if sparsity == nil, pattern == nil {
            throw ValidationError("give --sparsity or --pattern")
        }
        if params != nil, chosen.parameter("params") == nil {
            throw ValidationError(
                "--params applies to methods that take a parameter budget (\(MethodRegistry.methods.filter { $0.parameter("params") != nil }.map(\.name).joined(separator: ", ")))"
            )
        }
        if resume, noJournal { throw ValidationError("--resume continues a journal: drop --no-journal") }
        if let maxMemory, MemoryBudget.parse(maxMemory) == nil {
            throw ValidationError("--max-memory must be a size such as 8G, 512M or 1048576, got '\(maxMemory)'")
        }
        if !owl, owlM != nil || owlLambda != nil {
            throw ValidationError("--owl-m and --owl-lambda set OWL's parameters: add --owl")
        }
        if dsnot, method == "sparsegpt" {
            throw ValidationError(
                "--dsnot refines a mask before any weight update; SparseGPT chooses its mask while updating weights")
        }
        if permute, method != "ria" || pattern == nil || owl || dsnot {
            throw ValidationError(
                "--permute applies to --method ria with an N:M --pattern (and neither --owl nor --dsnot)")
        }
        if imatrix != nil, calibration.isGiven, saveImatrix == nil {
            throw ValidationError(
                "--imatrix replaces calibration data: drop --calib, --calib-ids and --calib-generate (they serve only --save-imatrix)"
            )
        }
        if saveImatrix != nil, !calibration.isGiven {
            throw ValidationError(
                "--save-imatrix measures the pruned model on calibration windows: give --calib, --calib-ids or --calib-generate"
            )
        }
        if method != "magnitude" || owl || dsnot, !calibration.isGiven, imatrix == nil {
            throw ValidationError(
                "\(owl || dsnot ? "this prune" : method) needs calibration data: --calib FILE, --calib-ids FILE, --calib-generate or --imatrix FILE"
            )
        }
    }
}

extension Prune {
    func run() throws {
        if ModelFormat.forOutput(path: out) == .gguf, FileManager.default.fileExists(atPath: out),
            URL(fileURLWithPath: out).standardizedFileURL == URL(fileURLWithPath: source.model).standardizedFileURL
        {
            throw CommandFailure.badInput("\(out): refusing to overwrite the input model; choose another output path")
        }
        let directory = URL(fileURLWithPath: out).deletingLastPathComponent().path
        guard FileManager.default.isWritableFile(atPath: directory) else {
            throw CommandFailure.badInput("\(out): the output directory \(directory) does not exist or is not writable")
        }
        if let report {
            let reportDirectory = URL(fileURLWithPath: report).deletingLastPathComponent().path
            guard FileManager.default.isWritableFile(atPath: reportDirectory) else {
                throw CommandFailure.badInput(
                    "\(report): the report's directory \(reportDirectory) does not exist or is not writable")
            }
            guard report != out, report != source.model else {
                throw CommandFailure.badInput("--report \(report): choose a path other than the model files")
            }
        }
        for path in [saveImatrix].compactMap({ $0 }) {
            guard ![out, source.model, report, imatrix].contains(path) else {
                throw CommandFailure.badInput("--save-imatrix \(path): choose a path other than the other files")
            }
            let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
            guard FileManager.default.isWritableFile(atPath: directory) else {
                throw CommandFailure.badInput(
                    "\(path): the directory \(directory) does not exist or is not writable")
            }
        }
        // A prune across MPI ranks keeps no journal: every rank holds its own shard of the activations.
        let group = ParallelRun.group
        if resume, let group {
            throw CommandFailure.badInput(
                "--resume continues a journal, which a prune across \(group.size) MPI ranks does not keep; "
                    + "run without mpirun to resume")
        }
        let journaling = !noJournal && group == nil
        if journaling {
            // Checked before any work: the journal may hold hours of it.
            try PruneJournalDirectory.checkBeforeStart(
                directory: PruneJournalDirectory.directory(forOutput: out), resume: resume)
        }
        let recipes = try makeRecipes()
        let scope = CancellationScope()
        let model = try source.load()
        let outputType = type ?? .matchingInput(of: model, output: out)
        let importance = try imatrix.map { path throws(ModelIOError) in
            let matrix = try ImportanceMatrix(path: path)
            try matrix.check(against: model)
            return matrix
        }
        let calibration = try self.calibration.makeSet(for: model, cancellation: scope)
        try ParallelRun.checkSameInputs(modelPath: source.model, windows: calibration?.windows ?? [])
        let calibrationSource = imatrix.map { "imatrix \($0)" } ?? calibration?.source ?? "none"
        let parametersBefore = model.parameterCount
        let recorder = self.report.map { _ in
            RunRecorder(
                model: model, calibrationSource: calibrationSource,
                windows: calibration?.windows ?? [],
                command: (["shears"] + CommandLine.arguments.dropFirst()).joined(separator: " "))
        }
        var identity = PruneJournalDirectory.Identity(
            modelPath: source.model, recipes: recipes, windows: calibration?.windows ?? [], targets: target,
            ignore: ignore)
        if let imatrix { identity.calibration = ImatrixSaving.journalCalibration(imatrix: imatrix) }
        let journal =
            !journaling
            ? nil
            : try PruneJournalDirectory(
                directory: PruneJournalDirectory.directory(forOutput: out), identity: identity, resume: resume)
        let report: PruneReport
        do {
            report = try PruneSession.run(
                model: model, recipes: recipes, calibration: importance == nil ? calibration?.windows ?? [] : [],
                calibrationSource: calibrationSource, targets: target.isEmpty ? nil : target,
                ignore: ignore,
                benchmark: bench ? { print($0.summary) } : nil, cancellation: scope.cancellation, journal: journal,
                imatrix: importance, memoryLimit: maxMemory.flatMap(MemoryBudget.parse), processGroup: group)
        } catch {
            if let note = journal?.stopped() { Terminal.printError("shears: note: \(note)") }
            if let failure = scope.failure { throw failure }
            guard error.memoryShortfall == nil else {
                throw CommandFailure.badInput(
                    error.message + " (--samples and --seqlen set the windows, --max-memory the limit; "
                        + "or choose a criterion without gradients: see shears methods)")
            }
            throw CommandFailure.badInput(error.message)
        }
        // Every rank holds the same pruned model; rank 0 writes it and reports.
        guard ParallelRun.leads else { return }
        try ModelWriter.write(model, to: out, type: outputType, annotations: ["version": ShearsVersion.number])
        if let caveat = ModelWriter.llamaCppCaveat(model, path: out) { Terminal.printError("shears: note: \(caveat)") }
        if outputType.ggmlType.blockSize > 1 {
            print(
                String(
                    format: "written as %@: linear sparsity %.4f after quantization (%.4f before)",
                    outputType.rawValue, ModelStatistics.linearSparsity(model, storedAs: outputType), report.sparsity))
        }
        journal?.remove()
        if let saveImatrix, let calibration {
            try ImatrixCommand.write(
                model: model, calibration: calibration, to: saveImatrix, cancellation: scope)
        }
        if let path = self.report, let recorder {
            try recorder.report(prune: report, model: model, recipes: recipes, outputPath: out).write(to: path)
        }
        if report.spilledActivationBytes > 0 {
            Terminal.printError(
                "shears: note: the calibration activations (\(MemoryBudget.describe(report.spilledActivationBytes))) "
                    + "exceeded --max-memory and were kept in a scratch file in \(model.scratchDirectory)")
        }
        for step in report.modelSteps {
            if !step.blockScores.isEmpty {
                let scores = step.blockScores.sorted { $0.key < $1.key }.map {
                    String(format: "%d:%.4g", $0.key, $0.value)
                }
                print("\(step.step): removed blocks \(step.removedBlocks) (scores \(scores.joined(separator: " ")))")
            }
            for note in step.notes { print("\(step.step): \(note)") }
        }
        if !report.modelSteps.isEmpty {
            print("parameters: \(parametersBefore) -> \(model.parameterCount)")
        }
        print(
            String(
                format:
                    "%@: linear sparsity %.4f in %.1f s%@ (forwards %.1f s, statistics %.1f s, %@selection %.1f s, reconstruction %.1f s) -> %@",
                recipes.map(\.description).joined(separator: " + "), report.sparsity, report.seconds,
                group.map { " on \($0.size) MPI ranks" } ?? "",
                report.times.forwards, report.times.statistics,
                report.times.gradients > 0 ? String(format: "gradients %.1f s, ", report.times.gradients) : "",
                report.times.selection, report.times.reconstruction, out))
    }

    /// The chain the flags describe, each step parsed by its registry descriptor: OWL (with
    /// `--owl`, taking the sparsity and pattern), the method, DSnoT (with `--dsnot`).
    private func makeRecipes() throws(CommandFailure) -> [PruneRecipe] {
        let chosen = MethodRegistry.method(named: method)!
        var given: [String: MethodValue] = [:]
        var allocation: [String: MethodValue] = [:]
        do throws(MethodArgumentError) {
            let patternValue = try pattern.map { text throws(MethodArgumentError) in
                guard let parameter = chosen.parameter("pattern") else {
                    throw MethodArgumentError(
                        parameter: "pattern", "does not apply to --method \(method) (unstructured only)")
                }
                return try parameter.pattern(text)
            }
            // With OWL in front, the method takes its per-layer sparsity (or N:M) from OWL.
            if owl {
                allocation["sparsity"] = sparsity.map(MethodValue.number)
                allocation["pattern"] = patternValue
                allocation["m"] = owlM.map(MethodValue.number)
                allocation["lambda"] = owlLambda.map(MethodValue.number)
            } else {
                given["sparsity"] = sparsity.map(MethodValue.number)
                given["pattern"] = patternValue
            }
            if permute { given["permute"] = .boolean(true) }
            if let params { given["params"] = .number(params) }
            for assignment in param {
                let parts = assignment.split(separator: "=", maxSplits: 1).map(String.init)
                guard parts.count == 2 else {
                    throw MethodArgumentError(parameter: assignment, "is not of the form NAME=VALUE")
                }
                let parameter = try chosen.declared(parts[0])
                if ["sparsity", "pattern", "params"].contains(parameter.name) {
                    throw MethodArgumentError(parameter: parameter.name, "is set by --\(parameter.name)")
                }
                guard given[parameter.name] == nil else {
                    throw MethodArgumentError(parameter: parameter.name, "is given twice")
                }
                given[parameter.name] = try parameter.parse(parts[1])
            }
        } catch {
            throw .badInput(
                error.message { ["sparsity", "pattern", "params"].contains($0) ? "--\($0)" : "--param \($0)" })
        }
        var recipes: [PruneRecipe] = []
        if owl { recipes.append(try Self.recipe(MethodRegistry.owl, allocation)) }
        recipes.append(try Self.recipe(chosen, given))
        if dsnot { recipes.append(try Self.recipe(MethodRegistry.dsnot, [:])) }
        return recipes
    }

    /// One registry step with checked arguments, described as recipes describe it.
    private static func recipe(
        _ descriptor: MethodDescriptor, _ given: [String: MethodValue]
    ) throws(CommandFailure) -> PruneRecipe {
        let arguments: MethodArguments
        do throws(MethodArgumentError) { arguments = try descriptor.arguments(given) } catch {
            throw .badInput(error.message { "\(descriptor.name) parameter '\($0)'" })
        }
        do throws(PruneError) {
            return PruneRecipe(steps: try descriptor.makeSteps(arguments), description: descriptor.describe(arguments))
        } catch {
            throw .badInput(error.message)
        }
    }
}
