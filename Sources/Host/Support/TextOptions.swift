import ArgumentParser
import ModelIO
import Recipes

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
