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
            A PATH ending in .gguf gives a GGUF file (f32, f16, bf16 or q8_0; norm weights stay f32); \
            any other PATH gives a Hugging Face directory (f32, f16 or bf16) that transformers loads. \
            The output is written to a temporary name and renamed, so a failed run leaves nothing behind.
            """)

    @OptionGroup var source: ModelArgument

    @Option(help: "The output .gguf file or directory.", completion: .file())
    var out: String

    @Option(help: "Element type of the weights: \(OutputType.allCases.map(\.rawValue).joined(separator: ", ")).")
    var type: OutputType = .f16

    func run() throws {
        let start = ContinuousClock.now
        let model = try source.load()
        try ModelWriter.write(model, to: out, type: type, annotations: [
            "version": ShearsVersion.number,
            "converted_from": URL(fileURLWithPath: source.model).lastPathComponent,
        ])
        let seconds = Format.seconds(ContinuousClock.now - start)
        print("wrote \(out) (\(ModelFormat.forOutput(path: out)), \(type)) in \(String(format: "%.1f", seconds)) s")
    }
}
