import Inference
import LuaRuntime
import ModelIO

extension ShearsModule {
    /// `m:compare(base, { text | ids | tokens, seqlen = 2048, chunks, save_base, pre_tokenizer,
    /// keep_crlf })` → a table of the figures of `shears eval --base --json` (`kld_mean`,
    /// `same_top`, `ppl_base`, …). `base` is a model or the path of a llama.cpp
    /// `--kl-divergence-base` file (which holds its own tokens and window size: give no text then);
    /// `save_base` writes the base model's log-probabilities to such a file.
    func compare(_ model: Model, _ call: LuaCall) throws -> [LuaValue] {
        let options = try call.optionalTable(3)
        try options?.checkFields(allowed: [
            "text", "ids", "tokens", "seqlen", "chunks", "save_base", "pre_tokenizer", "keep_crlf",
        ])
        let chunks = try options?.optionalInteger("chunks")
        let evaluator = DivergenceEvaluator(model: model, cancellation: cancellation)
        let progress: (Int, Int) -> Void = { [progressBar] done, total in
            progressBar.update(label: "compare", done: done, total: total)
        }
        let result: DivergenceResult
        do {
            if call.typeName(2) == "string" {
                let path = try call.string(2)
                let given = ["text", "ids", "tokens", "seqlen", "save_base"].filter {
                    options?.typeName(of: $0) ?? "nil" != "nil"
                }
                if let field = given.first {
                    throw LuaArgumentError(
                        argument: 2,
                        "field '\(field)' cannot go with a base file: \(path) holds its own tokens and window size")
                }
                result = try evaluator.compare(
                    base: try LlamaCppLogitsFile(path: path), maxChunks: chunks, progress: progress)
            } else {
                let base = try call.handle(2, as: RecipeHandles.model).model
                guard let options else {
                    throw LuaArgumentError(
                        argument: 2, "give the text to compare on: { text = ..., ids = ... or tokens = ... }")
                }
                let tokens = try tokenStream(options, model: model)
                let seqlen = try options.integer("seqlen", default: 2048)
                result = try evaluator.compare(
                    base: base, tokens: tokens, seqlen: seqlen, maxChunks: chunks,
                    saveBase: try options.optionalString("save_base"), progress: progress)
            }
        } catch let error as InferenceError {
            if error.cancellation != nil { throw LuaScriptError("compare: \(error.message)") }
            throw LuaArgumentError(argument: 1, error.message)
        } catch let error as ModelIOError {
            throw LuaArgumentError(argument: 1, error.description)
        }
        progressBar.finish()
        var table: [String: LuaValue] = [:]
        for (key, value) in DivergenceSummary.fields(result) {
            switch value {
            case .number(let number): table[key] = .number(number)
            case .integer(let integer): table[key] = .integer(integer)
            case .string(let string): table[key] = .string(string)
            case .numbers(let named):
                var inner: [String: LuaValue] = [:]
                for (name, number) in named { inner[name] = .number(number) }
                table[key] = .table(inner)
            }
        }
        return [.table(table)]
    }
}
