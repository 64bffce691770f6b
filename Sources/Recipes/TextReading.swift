import ModelIO
import Tokenization

/// How a text file becomes token ids.
///
/// By default a text is read the way the Python reference pipelines read it (text mode): CRLF
/// line ends become LF. `keepCRLF` reads the bytes exactly. `preTokenizer` overrides the model's
/// pre-tokenizer, e.g. `gpt2` to match transformers' GGUF loader, which ignores
/// `tokenizer.ggml.pre`.
package struct TextReading {
    /// Keep CRLF line ends instead of reading as text mode does.
    package var keepCRLF = false
    /// Pre-tokenizer to use instead of the model's.
    package var preTokenizer: String?

    /// Reading as text mode does, with the model's pre-tokenizer.
    package init(keepCRLF: Bool = false, preTokenizer: String? = nil) {
        self.keepCRLF = keepCRLF
        self.preTokenizer = preTokenizer
    }

    /// Reads `path` as text with these options.
    package func read(_ path: String) throws(CommandFailure) -> String {
        let text = try InputFiles.readText(path)
        return keepCRLF ? text : text.replacingOccurrences(of: "\r\n", with: "\n")
    }

    /// The tokenizer to use for `model`.
    package func tokenizer(for model: Model) throws(CommandFailure) -> Tokenizer {
        guard let preTokenizer else { return model.tokenizer }
        do {
            return try model.tokenizer.replacingPreTokenizer(with: preTokenizer)
        } catch {
            throw .badInput("pre-tokenizer: \(error)")
        }
    }

    /// Reads and encodes `path` for `model`.
    package func encode(
        _ path: String, for model: Model, parseSpecialTokens: Bool = false
    ) throws(CommandFailure) -> [Int32] {
        try tokenizer(for: model).encode(read(path), parseSpecialTokens: parseSpecialTokens)
    }
}
