import ArgumentParser
import Foundation
import Inference
import Recipes

/// `shears generate MODEL --prompt TEXT`: continue a prompt, streaming tokens to stdout.
struct Generate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Continue a prompt with the model (greedy by default, or sampled with a seed).")

    @OptionGroup var source: ModelArgument

    @Option(help: "The text to continue.")
    var prompt: String

    @Option(help: "Most tokens to generate (stops earlier at end of text).")
    var maxTokens = 64

    @Option(help: "Sampling temperature; 0 picks the most likely token every step.")
    var temperature: Float = 0

    @Option(help: "Seed of the sampler (same seed, same text).")
    var seed: UInt64 = 0

    @Option(help: "Sample only among the K most likely tokens (0: all).")
    var topK = 40

    @Option(help: "Sample only among the most likely tokens whose probabilities sum to P.")
    var topP: Float = 0.95

    @Flag(help: "Print the generated token ids after the text.")
    var showIds = false

    func validate() throws {
        guard maxTokens >= 0 else { throw ValidationError("--max-tokens must be non-negative") }
        guard temperature.isFinite, temperature >= 0 else {
            throw ValidationError("--temperature must be a non-negative number")
        }
        guard topK >= 0 else { throw ValidationError("--top-k must be non-negative") }
        guard topP > 0, topP <= 1 else { throw ValidationError("--top-p must be in (0, 1]") }
    }

    func run() throws {
        let model = try source.load()
        let promptIDs = model.tokenizer.encode(prompt)
        guard !promptIDs.isEmpty else { throw CommandFailure.badInput("the prompt is empty") }
        let sampling = SamplingOptions(temperature: temperature, topK: topK, topP: topP, seed: seed)
        let generator = Generator(model: model)
        var generated: [Int32] = []
        var printed = ""
        Terminal.write(prompt)
        let start = ContinuousClock.now
        _ = try generator.generate(prompt: promptIDs, maxTokens: maxTokens, sampling: sampling) { id in
            generated.append(id)
            // Print only whole characters: a token may end in the middle of a UTF-8 sequence.
            let text = model.tokenizer.decode(generated)
            if !text.hasSuffix("\u{FFFD}") {
                Terminal.write(String(text.dropFirst(printed.count)))
                printed = text
            }
            return true
        }
        let seconds = Format.seconds(ContinuousClock.now - start)
        let text = model.tokenizer.decode(generated)
        Terminal.write(String(text.dropFirst(printed.count)) + "\n")
        if showIds { print(generated.map(String.init).joined(separator: " ")) }
        Terminal.printError(
            String(
                format: "shears: %d tokens in %.2f s (%.1f tokens/s)", generated.count, seconds,
                Double(generated.count) / max(seconds, 1e-9)))
    }
}
