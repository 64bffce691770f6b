import ArgumentParser
import ModelIO
import Tokenization

/// How a text file becomes token ids.
///
/// By default a text is read the way the Python reference pipelines read it (text mode): CRLF
/// line ends become LF. `keepCRLF` reads the bytes exactly. `preTokenizer` overrides the model's
/// pre-tokenizer, e.g. `gpt2` to match transformers' GGUF loader, which ignores
/// `tokenizer.ggml.pre`.
struct TextReading {
    /// Keep CRLF line ends instead of reading as text mode does.
    var keepCRLF = false
    /// Pre-tokenizer to use instead of the model's.
    var preTokenizer: String?

    /// Reads `path` as text with these options.
    func read(_ path: String) throws(CommandFailure) -> String {
        let text = try InputFiles.readText(path)
        return keepCRLF ? text : text.replacingOccurrences(of: "\r\n", with: "\n")
    }

    /// The tokenizer to use for `model`.
    func tokenizer(for model: Model) throws(CommandFailure) -> Tokenizer {
        guard let preTokenizer else { return model.tokenizer }
        do {
            return try model.tokenizer.replacingPreTokenizer(with: preTokenizer)
        } catch {
            throw .badInput("pre-tokenizer: \(error)")
        }
    }

    /// Reads and encodes `path` for `model`.
    func encode(_ path: String, for model: Model, parseSpecialTokens: Bool = false) throws(CommandFailure) -> [Int32] {
        try tokenizer(for: model).encode(read(path), parseSpecialTokens: parseSpecialTokens)
    }
}

/// The command-line options of `TextReading`.
struct TextOptions: ParsableArguments {
    @Flag(help: "Keep CRLF line ends (default: read as text mode does, CRLF -> LF).")
    var keepCrlf = false

    @Option(help: "Pre-tokenizer to use instead of the model's (smollm, gpt2, llama-bpe, qwen2, ...).")
    var preTokenizer: String?

    /// The reading these options describe.
    var reading: TextReading { TextReading(keepCRLF: keepCrlf, preTokenizer: preTokenizer) }

    /// Reads and encodes `path` for `model`.
    func encode(_ path: String, for model: Model) throws(CommandFailure) -> [Int32] {
        try reading.encode(path, for: model)
    }
}
