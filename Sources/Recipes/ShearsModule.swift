import Foundation
import Inference
import LuaRuntime
import ModelIO
import Reports
import Tokenization

/// Installs the `shears` API into a recipe runtime: models, tensors, calibration sets,
/// evaluation, generation, saving, tokenization and progress.
///
/// The reference with an example per function is docs/lua-api.md; editor annotations are in
/// Scripts/meta/shears.lua.
final class ShearsModule {
    /// The most recently loaded model still open: the default model of `shears.calibration`.
    private weak var lastModel: ModelBox?
    /// The recipe being run, recorded in saved files.
    let recipe: RecipeProvenance
    /// Where `shears.plugin` finds relative paths.
    let pluginSearch: PluginSearchPath
    /// Checked by the long computations recipes start (prunes, perplexity).
    let cancellation: Cancellation?
    let progressBar = RecipeProgress()

    init(
        recipe: RecipeProvenance, pluginSearch: PluginSearchPath = PluginSearchPath(), cancellation: Cancellation? = nil
    ) {
        self.cancellation = cancellation
        self.recipe = recipe
        self.pluginSearch = pluginSearch
    }

    /// Registers every function and handle type.
    func install(into runtime: LuaRuntime) {
        registerModel(runtime)
        registerTensor(runtime)
        registerCalibration(runtime)
        registerGradient(runtime)
        installPruning(into: runtime)
        installPlugins(into: runtime)

        runtime.register("load") { [self] call in
            let path = try call.string(1)
            var residency = ModelResidency.resident
            var scratch: String?
            if let options = try call.optionalTable(2) {
                try options.checkFields(allowed: ["stream", "scratch_dir"])
                if try options.optionalBoolean("stream") == true { residency = .streamed }
                scratch = try options.optionalString("scratch_dir")
            }
            let box = ModelBox(try ModelLoader.load(path: path, residency: residency, scratchDirectory: scratch))
            lastModel = box
            return [.handle(box, as: RecipeHandles.model)]
        }
        runtime.register("calibration") { [self] call in
            let options = try call.table(1)
            if options.typeName(of: "imatrix") != "nil" {
                return [.handle(CalibrationBox(try readImatrix(options, call: call)), as: RecipeHandles.calibration)]
            }
            return [.handle(CalibrationBox(try makeCalibration(options, call: call)), as: RecipeHandles.calibration)]
        }
        runtime.register("tokenize") { call in
            let model = try call.handle(1, as: RecipeHandles.model).model
            return [.array(model.tokenizer.encode(try call.string(2)).map { .integer(Int($0)) })]
        }
        runtime.register("detokenize") { call in
            let model = try call.handle(1, as: RecipeHandles.model).model
            let ids = try call.table(2).integers()
            if let bad = ids.first(where: { $0 < 0 || $0 >= model.config.vocabSize }) {
                throw LuaArgumentError(
                    argument: 2, "token id \(bad) is outside the vocabulary (0..<\(model.config.vocabSize))")
            }
            return [.string(model.tokenizer.decode(ids.map { Int32($0) }))]
        }
        runtime.register("progress") { [self] call in
            let done = try call.integer(1), total = try call.integer(2)
            guard total >= 1, (0...total).contains(done) else {
                throw LuaArgumentError(argument: 1, "progress \(done) of \(total) is out of range")
            }
            progressBar.update(label: try call.string(3, default: "recipe"), done: done, total: total)
            return []
        }
    }

    // MARK: Model

    private func registerModel(_ runtime: LuaRuntime) {
        runtime.register(
            RecipeHandles.model,
            methods: [
                "tensors": { box, _ in [.array(box.model.tensorNames.map { .string($0) })] },
                "tensor": { box, call in
                    let name = try call.string(2)
                    guard box.model.tensor(name) != nil else {
                        throw LuaArgumentError(argument: 1, "no tensor '\(name)' in the model (see m:tensors())")
                    }
                    return [
                        .handle(TensorReference(model: box.model, name: name), as: RecipeHandles.tensor, dependingOn: 1)
                    ]
                },
                "perplexity": { [self] box, call in try perplexity(box, call) },
                "compare": { [self] box, call in try compare(box.model, call) },
                "gradients": { [self] box, call in try gradients(box.model, call) },
                "remove": { box, call in try Self.remove(box.model, call) },
                "layer": { box, call in try Self.layerShape(box.model, call) },
                "generate": { box, call in try Self.generate(box.model, call) },
                "save": { [self] box, call in try save(box, call) },
                "save_imatrix": { [self] box, call in try saveImatrix(box, call) },
                "sparsity": { box, _ in
                    let sparsity = ModelStatistics.modelSparsity(box.model)
                    var table: [String: LuaValue] = [:]
                    for (name, value) in sparsity.perTensor { table[name] = .number(value) }
                    return [.number(sparsity.linear), .table(table)]
                },
            ],
            properties: [
                "arch": { .string(ArchitectureDescriptor.forGGUF($0.model.config).ggufArchitecture) },
                "layers": { .integer($0.model.config.layerCount) },
                "hidden": { .integer($0.model.config.hiddenSize) },
                "heads": { Self.perLayer($0.model.config, \.headCount) },
                "kv_heads": { Self.perLayer($0.model.config, \.kvHeadCount) },
                "head_dim": { .integer($0.model.config.headDim) },
                "ffn": { Self.perLayer($0.model.config, \.ffnSize) },
                "vocab": { .integer($0.model.config.vocabSize) },
                "context": { .integer($0.model.config.contextLength) },
                "tied": { .boolean($0.model.config.tiedEmbedding) },
                "streamed": { .boolean($0.model.residency == .streamed) },
                "parameters": { .integer($0.model.parameterCount) },
                "path": { .string($0.model.sourcePath) },
                "name": { box in box.model.metadata["general.name"]?.string.map { .string($0) } ?? .nil },
            ],
            describe: { box in
                let c = box.model.config
                return
                    "\(URL(fileURLWithPath: box.model.sourcePath).lastPathComponent) (\(c.layerCount) layers, hidden \(c.hiddenSize))"
            }
        )
    }

    private func perplexity(_ box: ModelBox, _ call: LuaCall) throws -> [LuaValue] {
        let model = box.model
        let options = try call.table(2)
        try options.checkFields(allowed: [
            "text", "ids", "tokens", "seqlen", "chunks", "pre_tokenizer", "keep_crlf", "name",
        ])
        let tokens = try tokenStream(options, model: model)
        let seqlen = try options.integer("seqlen", default: 2048)
        let chunks = try options.optionalInteger("chunks")
        let result: PerplexityResult
        do {
            result = try PerplexityEvaluator(model: model, cancellation: cancellation).evaluate(
                tokens: tokens, seqlen: seqlen, maxChunks: chunks
            ) {
                [progressBar] done, total in progressBar.update(label: "perplexity", done: done, total: total)
            }
        } catch {
            throw LuaArgumentError(argument: 1, error.message)
        }
        progressBar.finish()
        let details: LuaValue = [
            "chunks": .integer(result.chunks), "seqlen": .integer(result.seqlen), "tokens": .integer(result.tokens),
            "seconds": .number(result.seconds), "chunk_nll": .array(result.chunkMeanNLLs.map { .number($0) }),
        ]
        let file = try options.optionalString("text") ?? options.optionalString("ids")
        let name = try options.optionalString("name") ?? file.map { URL(fileURLWithPath: $0).lastPathComponent }
        try box.updateReport { report in
            report.evaluations.append(
                RunReport.Evaluation(
                    name: name ?? "tokens",
                    perplexity: result.perplexity, seqlen: result.seqlen, chunks: result.chunks, kldMean: nil,
                    sameTop: nil, extra: []))
        }
        return [.number(result.perplexity), details]
    }

    private static func generate(_ model: Model, _ call: LuaCall) throws -> [LuaValue] {
        let prompt = try call.string(2)
        let options = try call.optionalTable(3)
        try options?.checkFields(allowed: ["max_tokens", "seed", "temperature", "top_k", "top_p"])
        let sampling = SamplingOptions(
            temperature: Float(try options?.number("temperature", default: 0) ?? 0),
            topK: try options?.integer("top_k", default: 40) ?? 40,
            topP: Float(try options?.number("top_p", default: 0.95) ?? 0.95),
            seed: UInt64(truncatingIfNeeded: try options?.integer("seed", default: 0) ?? 0))
        let maxTokens = try options?.integer("max_tokens", default: 32) ?? 32
        let ids: [Int32]
        do {
            ids = try Generator(model: model).generate(
                prompt: model.tokenizer.encode(prompt), maxTokens: maxTokens, sampling: sampling)
        } catch {
            throw LuaArgumentError(argument: 2, error.message)
        }
        return [.string(model.tokenizer.decode(ids)), .array(ids.map { .integer(Int($0)) })]
    }

    /// `m:save_imatrix(calibration, path)`: the model's importance matrix as it is now over the
    /// calibration windows, written in llama.cpp's GGUF layout.
    private func saveImatrix(_ box: ModelBox, _ call: LuaCall) throws -> [LuaValue] {
        let calibration = try call.handle(2, as: RecipeHandles.calibration).requireWindows(
            argument: 1, for: "m:save_imatrix")
        let path = try call.string(3)
        guard path != box.model.sourcePath else {
            throw LuaArgumentError(argument: 2, "\(path) is the model's own file; choose another path")
        }
        do {
            try ImatrixSaving.save(model: box.model, calibration: calibration, to: path, cancellation: cancellation)
        } catch {
            throw LuaScriptError(error.message)
        }
        return []
    }

    private func save(_ box: ModelBox, _ call: LuaCall) throws -> [LuaValue] {
        let model = box.model
        if let reason = cancellation?.reason {
            // A recipe that caught the stopped prune with pcall must not write a half-pruned model.
            throw LuaScriptError("not saving: the run was \(reason)")
        }
        let path = try call.string(2)
        let options = try call.optionalTable(3)
        try options?.checkFields(allowed: ["type"])
        // Without a type, the input's own where it keeps zeros (see OutputType.matchingInput).
        var type = OutputType.matchingInput(of: model, output: path)
        if let typeName = try options?.optionalString("type") {
            guard let named = OutputType(rawValue: typeName) else {
                throw LuaArgumentError(
                    argument: 2,
                    "field 'type' must be one of \(OutputType.allCases.map(\.rawValue).joined(separator: ", ")), got '\(typeName)'"
                )
            }
            type = named
        }
        try ModelWriter.write(model, to: path, type: type, annotations: recipe.annotations)
        try box.updateReport { $0.output = RunReport.ModelSummary(model: model, path: path) }
        box.journal?.remove()
        box.journal = nil
        return []
    }

    // MARK: Tensor

    private func registerTensor(_ runtime: LuaRuntime) {
        runtime.register(
            RecipeHandles.tensor,
            methods: [
                "sparsity": { reference, _ in [.number(ModelStatistics.sparsity(reference.tensor))] },
                "norm": { reference, _ in [.number(ModelStatistics.norm(reference.tensor))] },
            ],
            properties: [
                "name": { .string($0.name) },
                "shape": { .array($0.tensor.shape.map { .integer($0) }) },
                "dtype": { .string($0.tensor.sourceType.name) },
                "rows": { .integer($0.tensor.rows) },
                "columns": { .integer($0.tensor.columns) },
                "numel": { .integer($0.tensor.count) },
            ],
            describe: { reference in
                "\(reference.name) \(reference.tensor.shape.map(String.init).joined(separator: "x"))"
            }
        )
    }

    // MARK: Calibration

    private func registerCalibration(_ runtime: LuaRuntime) {
        runtime.register(
            RecipeHandles.calibration,
            methods: [
                "window": { box, call in
                    let index = try call.integer(2)
                    let windows = try box.requireWindows(argument: 1, for: "window(...)").windows
                    guard (1...windows.count).contains(index) else {
                        throw LuaArgumentError(argument: 1, "window \(index) is out of range 1..\(windows.count)")
                    }
                    return [.array(windows[index - 1].map { .integer(Int($0)) })]
                }
            ],
            properties: [
                "seqlen": { box in .integer(box.set?.seqlen ?? box.imatrix?.chunkSize ?? 0) },
                "samples": { box in .integer(box.set?.windows.count ?? box.imatrix?.chunkCount ?? 0) },
                "tokens": { box in .integer(box.set?.tokenCount ?? 0) },
                "source": { .string($0.source) },
                "imatrix": { box in box.imatrix.map { .string($0.path) } ?? .nil },
            ],
            length: { $0.windows.count },
            describe: { $0.source }
        )
    }

    /// `shears.calibration{ imatrix = path, model = m }`: a llama.cpp importance matrix, checked
    /// against the model (default: the last loaded).
    private func readImatrix(_ options: LuaTableArgument, call: LuaCall) throws -> ImportanceMatrix {
        try options.checkFields(allowed: ["model", "imatrix"])
        guard let box = try modelField(options, call) ?? lastModel else {
            throw LuaArgumentError(argument: 1, "field 'model' is required when no model is loaded")
        }
        let path = try options.string("imatrix")
        do {
            let matrix = try ImportanceMatrix(path: path)
            try matrix.check(against: box.model)
            return matrix
        } catch {
            throw LuaArgumentError(argument: 1, "field 'imatrix': \(error.description)")
        }
    }

    private func makeCalibration(_ options: LuaTableArgument, call: LuaCall) throws -> CalibrationSet {
        try options.checkFields(allowed: [
            "model", "text", "ids", "tokens", "samples", "seqlen", "seed", "offsets", "generate",
            "temperature", "pre_tokenizer", "keep_crlf",
        ])
        guard let box = try modelField(options, call) ?? lastModel else {
            throw LuaArgumentError(argument: 1, "field 'model' is required when no model is loaded")
        }
        let model = box.model
        var request: CalibrationRequest
        if try options.boolean("generate", default: false) {
            request = CalibrationRequest(source: .generated)
            request.temperature = Float(
                try options.number("temperature", default: Double(CalibrationRequest.defaultTemperature)))
        } else {
            request = CalibrationRequest(source: try tokenSource(options, model: model))
            if let offsets = try offsetList(options) { request.offsets = offsets }
        }
        request.samples = try options.integer("samples", default: CalibrationRequest.defaultSamples)
        request.seqlen = try options.integer("seqlen", default: CalibrationRequest.defaultSeqlen)
        request.seed = UInt64(
            truncatingIfNeeded: try options.integer("seed", default: Int(CalibrationRequest.defaultSeed)))
        request.reading = try textReading(options)
        do {
            let set = try request.makeSet(for: model, cancellation: cancellation) { [progressBar] done, total in
                progressBar.update(label: "self-calibration", done: done, total: total)
            }
            progressBar.finish()
            return set
        } catch let error as InferenceError {
            throw LuaArgumentError(argument: 1, error.message)
        } catch let error as CommandFailure {
            throw LuaArgumentError(argument: 1, error.message)
        }
    }

    /// The `model` field as a model handle, if given.
    private func modelField(_ options: LuaTableArgument, _ call: LuaCall) throws -> ModelBox? {
        guard let index = try options.handleIndex("model") else { return nil }
        return try call.handle(Int(index), as: RecipeHandles.model)
    }

    /// `offsets`: a list of integers, or the path of a file with one offset per line; with where
    /// they came from.
    private func offsetList(_ options: LuaTableArgument) throws -> (values: [Int], origin: String)? {
        if options.typeName(of: "offsets") == "table", let list = try options.optionalTable("offsets") {
            return (try list.integers(), "given offsets")
        }
        guard let path = try options.optionalString("offsets") else { return nil }
        do {
            return (try InputFiles.readOffsets(path), path)
        } catch {
            throw LuaArgumentError(argument: 1, "field 'offsets': \(error.message)")
        }
    }

    /// The token stream named by `text` (read and tokenized), `ids` (an int32 file) or `tokens`
    /// (a list of ids).
    func tokenStream(_ options: LuaTableArgument, model: Model) throws -> [Int32] {
        let source = try tokenSource(options, model: model), reading = try textReading(options)
        do throws(CommandFailure) {
            return try source.tokens(for: model, reading: reading)!.ids
        } catch {
            throw LuaArgumentError(argument: 1, error.message)
        }
    }

    /// Which of `text`, `ids` and `tokens` gives the tokens (exactly one must).
    private func tokenSource(_ options: LuaTableArgument, model: Model) throws -> CalibrationRequest.Source {
        let text = try options.optionalString("text"), ids = try options.optionalString("ids")
        let list = try options.optionalTable("tokens")?.integers()
        guard [text != nil, ids != nil, list != nil].filter({ $0 }).count == 1 else {
            throw LuaArgumentError(argument: 1, "give exactly one of the fields 'text', 'ids' and 'tokens'")
        }
        if let list {
            if let bad = list.first(where: { $0 < 0 || $0 >= model.config.vocabSize }) {
                throw LuaArgumentError(argument: 1, "field 'tokens': id \(bad) is outside the vocabulary")
            }
            return .tokens(list.map { Int32($0) })
        }
        return text.map(CalibrationRequest.Source.text) ?? .ids(ids!)
    }

    /// The `keep_crlf` and `pre_tokenizer` fields.
    private func textReading(_ options: LuaTableArgument) throws -> TextReading {
        TextReading(
            keepCRLF: try options.boolean("keep_crlf", default: false),
            preTokenizer: try options.optionalString("pre_tokenizer"))
    }
}
