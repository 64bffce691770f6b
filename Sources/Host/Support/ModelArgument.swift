import ArgumentParser
import Foundation
import ModelIO
import Recipes

/// The MODEL argument shared by the commands, and loading it with a timing note.
struct ModelArgument: ParsableArguments {
    @Argument(help: "A .gguf file or a Hugging Face model directory.", completion: .file())
    var model: String

    /// Loads the model into memory (dequantizing to Float32).
    func load() throws(ModelIOError) -> Model {
        try ModelLoader.load(path: model)
    }
}

/// Formats numbers for human-readable output.
enum Format {
    /// `1.23 GB`, `98.4 MB`, `512 B`.
    static func bytes(_ count: Int) -> String {
        let value = Double(count)
        if value >= 1e9 { return String(format: "%.2f GB", value / 1e9) }
        if value >= 1e6 { return String(format: "%.1f MB", value / 1e6) }
        if value >= 1e3 { return String(format: "%.1f kB", value / 1e3) }
        return "\(count) B"
    }

    /// `134.5 M`, `1.24 B` parameters.
    static func count(_ count: Int) -> String {
        let value = Double(count)
        if value >= 1e9 { return String(format: "%.2f B", value / 1e9) }
        if value >= 1e6 { return String(format: "%.1f M", value / 1e6) }
        if value >= 1e3 { return String(format: "%.1f k", value / 1e3) }
        return "\(count)"
    }

    /// Seconds as a `Double` from a `Duration`.
    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) * 1e-18
    }
}

/// Encodes command results as one JSON object on stdout.
enum JSONOutput {
    /// Prints `value` as compact JSON with sorted keys.
    static func print(_ value: some Encodable) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        let data = try encoder.encode(value)
        Terminal.write(String(decoding: data, as: UTF8.self) + "\n")
    }
}
