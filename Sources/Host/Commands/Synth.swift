import ArgumentParser
import Foundation
import ModelIO
import Recipes

extension SyntheticShape: ExpressibleByArgument {}

/// `shears synth --shape NAME --out FILE.gguf`: a random model of a real architecture's dimensions.
struct Synth: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a random model with a real architecture's dimensions, for benchmarks and tests.",
        discussion: """
            --shape is \(SyntheticShape.allCases.map(\.rawValue).joined(separator: ", ")). \
            custom needs --layers, --hidden, --ffn, --heads and --vocab (--kv-heads defaults to --heads, \
            --context to 2048); with a named shape these options override its dimensions (e.g. --layers 4 \
            for a shallow model of full width). The weights are random (uniform, variance 1/fan-in, norms 1), \
            the tokenizer byte-level BPE; the same seed gives the same bytes. The file is written tensor by \
            tensor under a temporary name and renamed, never whole in memory. Shears and llama.cpp load it.
            """)

    @Option(help: "The architecture whose dimensions the model takes.")
    var shape: SyntheticShape

    @Option(help: "Element type of the matrices (norms stay f32).")
    var type: OutputType = .f16

    @Option(help: "Random seed; the same seed gives the same file.")
    var seed: UInt64 = 1

    @Option(help: "The output .gguf file (replaced if it exists).", completion: .file(extensions: ["gguf"]))
    var out: String

    @Option(help: "Decoder layers.") var layers: Int?
    @Option(help: "Hidden (residual) width.") var hidden: Int?
    @Option(help: "FFN inner width.") var ffn: Int?
    @Option(help: "Query heads.") var heads: Int?
    @Option(name: .customLong("kv-heads"), help: "Key/value heads (default: --heads).") var kvHeads: Int?
    @Option(help: "Vocabulary size (at least 257).") var vocab: Int?
    @Option(help: "Context length written in the metadata (default: the shape's, 2048 for custom).") var context: Int?

    func run() throws {
        let start = ContinuousClock.now
        guard out.hasSuffix(".gguf") else {
            throw CommandFailure.badInput("--out \(out): synth writes GGUF only; give a path ending in .gguf")
        }
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: out, isDirectory: &isDirectory), isDirectory.boolValue {
            throw CommandFailure.badInput("--out \(out) is a directory; give a .gguf file path")
        }
        let base = shape.config
        func dimension(_ value: Int?, _ preset: Int?, _ option: String) throws -> Int {
            if let value = value ?? preset { return value }
            throw CommandFailure.badInput("--shape custom needs --\(option)")
        }
        let headCount = try dimension(heads, base?.layers[0].headCount, "heads")
        var config = try SyntheticShape.custom(
            layers: try dimension(layers, base?.layerCount, "layers"),
            hidden: try dimension(hidden, base?.hiddenSize, "hidden"),
            ffn: try dimension(ffn, base?.layers[0].ffnSize, "ffn"), heads: headCount,
            kvHeads: kvHeads ?? base?.layers[0].kvHeadCount ?? headCount,
            vocab: try dimension(vocab, base?.vocabSize, "vocab"),
            context: context ?? base?.contextLength ?? 2048, path: out)
        if let base {
            config.ropeTheta = base.ropeTheta
            config.rmsNormEpsilon = base.rmsNormEpsilon
            config.tiedEmbedding = base.tiedEmbedding
            config.slidingWindow = base.slidingWindow
            config.attentionBiases = base.attentionBiases
        }
        if let note = shape.note { Terminal.printError("shears: note: \(note)") }
        let infos = try SyntheticModel.write(
            config: config, type: type, seed: seed, name: "synthetic \(shape)",
            annotations: [
                "version": ShearsVersion.number, "synth.shape": shape.rawValue, "synth.seed": String(seed),
            ], to: out)
        let parameters = infos.reduce(0) { $0 + $1.elementCount }
        let bytes = infos.reduce(0) { $0 + $1.byteCount }
        let seconds = Format.seconds(ContinuousClock.now - start)
        print(
            "wrote \(out) (\(shape), \(type), \(config.layerCount) layers, hidden \(config.hiddenSize), "
                + String(
                    format: "%.3f B parameters, %.2f GB of tensor data) in %.1f s", Double(parameters) / 1e9,
                    Double(bytes) / 1e9, seconds))
    }
}
