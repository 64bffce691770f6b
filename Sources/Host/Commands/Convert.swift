import ArgumentParser
import Foundation
import ModelIO
import Recipes

extension OutputType: ExpressibleByArgument {}

/// `shears convert MODEL --out PATH [--type f16]`: between GGUF and safetensors, and between types.
struct Convert: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a model as GGUF or as a Hugging Face safetensors directory.",
        discussion: """
            A PATH ending in .gguf gives a GGUF file (f32, f16, bf16, q8_0, q5_0 or q4_0; norm weights stay f32); \
            any other PATH gives a Hugging Face directory (f32, f16 or bf16) that transformers loads. \
            The output is written to a temporary name and renamed, so a failed run leaves nothing behind.

            --drop-layers removes whole decoder layers (0-based, comma-separated, ranges like 20-23) \
            and renumbers the rest, with consistent metadata (llama.cpp's llama-quantize \
            --prune-layers, for any output format and type).
            """)

    @OptionGroup var source: ModelArgument

    @Option(help: "The output .gguf file or directory.", completion: .file())
    var out: String

    @Option(help: "Element type of the weights: \(OutputType.allCases.map(\.rawValue).joined(separator: ", ")).")
    var type: OutputType = .f16

    @Option(name: .customLong("drop-layers"), help: "Decoder layers to remove, 0-based: e.g. 20,21 or 20-23.")
    var dropLayers: String?

    func run() throws {
        let start = ContinuousClock.now
        let dropped = try dropLayers.map { try Self.layerList($0) }
        let model = try source.load()
        var annotations = [
            "version": ShearsVersion.number,
            "converted_from": URL(fileURLWithPath: source.model).lastPathComponent,
        ]
        if let dropped {
            do { try model.remove(.blocks(dropped)) } catch {
                throw CommandFailure.badInput("--drop-layers: \(error.item.map { "\($0): " } ?? "")\(error.message)")
            }
            annotations["dropped_layers"] = dropped.map(String.init).joined(separator: ",")
        }
        try ModelWriter.write(model, to: out, type: type, annotations: annotations)
        if let caveat = ModelWriter.llamaCppCaveat(model, path: out) { Terminal.printError("shears: note: \(caveat)") }
        let seconds = Format.seconds(ContinuousClock.now - start)
        print("wrote \(out) (\(ModelFormat.forOutput(path: out)), \(type)) in \(String(format: "%.1f", seconds)) s")
    }

    /// Parses `20,21` or `20-23,25` into layer indices.
    static func layerList(_ text: String) throws -> [Int] {
        var layers: [Int] = []
        for field in text.split(separator: ",", omittingEmptySubsequences: false) {
            let bounds = field.split(separator: "-", omittingEmptySubsequences: false).map {
                Int($0.trimmingCharacters(in: .whitespaces))
            }
            switch bounds.count {
            case 1 where bounds[0] != nil:
                layers.append(bounds[0]!)
            case 2 where bounds[0] != nil && bounds[1] != nil && bounds[0]! <= bounds[1]!:
                layers += Array(bounds[0]!...bounds[1]!)
            default:
                throw CommandFailure.badInput(
                    "--drop-layers: '\(field)' is not a layer index or a range such as 20-23 (in '\(text)')")
            }
        }
        return layers
    }
}
