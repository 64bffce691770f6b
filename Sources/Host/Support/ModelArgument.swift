import ArgumentParser
import Foundation
import ModelIO
import Recipes

/// The MODEL argument shared by the commands, how to hold its weights, and loading it.
struct ModelArgument: ParsableArguments {
    @Argument(help: "A .gguf file or a Hugging Face model directory.", completion: .file())
    var model: String

    @Flag(
        inversion: .prefixedNo,
        help: ArgumentHelp(
            "Keep a GGUF model's matrices in the file and decode one layer at a time (memory flat in depth).",
            discussion:
                "Default: streamed when the model as Float32 would take more than half of the machine's memory."))
    var stream: Bool?

    @Option(
        help: ArgumentHelp(
            "Directory for the scratch file of a streamed prune's pruned layers (default: $TMPDIR or /tmp).",
            valueName: "dir"), completion: .directory)
    var scratchDir: String?

    /// Loads the model, resident or streamed (`--stream`, or by default when its Float32 size
    /// exceeds half of the physical memory; safetensors input is always resident).
    func load() throws(ModelIOError) -> Model {
        try ModelLoader.load(path: model, residency: try residency(), scratchDirectory: scratchDir)
    }

    /// The residency `load()` uses.
    private func residency() throws(ModelIOError) -> ModelResidency {
        if let stream { return stream ? .streamed : .resident }
        guard try ModelFormat.detect(path: model) == .gguf else { return .resident }
        let elements = try GGUFFile(path: model).tensors.reduce(0) { $0 + $1.elementCount }
        let float32 = elements * MemoryLayout<Float>.stride
        guard float32 > Int(ProcessInfo.processInfo.physicalMemory / 2) else { return .resident }
        Terminal.printError(
            "shears: note: \(model): \(Format.bytes(float32)) as Float32 is more than half of this machine's memory; streaming "
                + "its layers (--no-stream to load it whole)")
        return .streamed
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
