import ArgumentParser
import Foundation
import ModelIO

/// `shears inspect MODEL`: architecture, tokenizer and tensors of a model, without running it.
struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show a model's architecture, tokenizer, metadata and tensors.")

    @OptionGroup var source: ModelArgument

    @Flag(help: "Print one JSON object instead of text.")
    var json = false

    @Flag(help: "List every tensor (always included in --json).")
    var tensors = false

    @Flag(help: "List every metadata key (tokenizer arrays summarised).")
    var metadata = false

    func run() throws {
        let description = try ModelDescription(path: source.model)
        if json {
            try JSONOutput.print(description)
        } else {
            print(description.text(tensors: tensors, metadata: metadata))
        }
    }
}

/// What `inspect` reports about a model.
struct ModelDescription: Encodable {
    /// One tensor's name, element type and row-major shape.
    struct TensorEntry: Encodable {
        let name: String
        let type: String
        let shape: [Int]
    }

    /// The `ArchitectureDescriptor` the model matched.
    struct DescriptorEntry: Encodable {
        let name: String
        let summary: String
        let ggufArchitecture: String
        let huggingFaceArchitecture: String?

        init(_ descriptor: ArchitectureDescriptor) {
            name = descriptor.name
            summary = descriptor.description
            ggufArchitecture = descriptor.ggufArchitecture
            huggingFaceArchitecture = descriptor.huggingFaceArchitecture
        }
    }

    let path: String
    let format: String
    let fileBytes: Int
    let architecture: String
    let descriptor: DescriptorEntry
    let name: String?
    let config: LlamaConfig
    let parameters: Int
    let tokenizer: String
    let preTokenizer: String
    let vocabularySize: Int
    let mergeCount: Int
    let bosId: Int32?
    let eosId: Int32?
    let metadata: [String: String]
    let tensors: [TensorEntry]

    /// Reads the description: GGUF headers only (nothing dequantized), or a loaded HF directory.
    init(path: String) throws(ModelIOError) {
        self.path = path
        switch try ModelFormat.detect(path: path) {
        case .gguf:
            let file = try GGUFFile(path: path)
            var config = try GGUFModelReader.config(from: file.metadata, path: path)
            config.tiedEmbedding = file.tensorInfo(named: LlamaTensorNames.output) == nil
            format = "GGUF v\(file.version)"
            fileBytes = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
            self.config = config
            tensors = file.tensors.map { TensorEntry(name: $0.name, type: $0.type.description, shape: $0.shape) }
            let vocabulary = BPEVocabularyInfo(metadata: file.metadata)
            tokenizer = vocabulary.model
            preTokenizer = vocabulary.pre
            vocabularySize = vocabulary.tokens
            mergeCount = vocabulary.merges
            bosId = vocabulary.bos
            eosId = vocabulary.eos
            metadata = Self.render(file.metadata)
            name = file.metadata["general.name"]?.string
            let matched = try ArchitectureDescriptor.matching(gguf: file.metadata, path: path)
            descriptor = DescriptorEntry(matched)
            architecture = matched.ggufArchitecture
        case .safetensors:
            let model = try ModelLoader.load(path: path)
            format = "Hugging Face safetensors"
            fileBytes = Self.directorySize(path)
            config = model.config
            tensors = model.tensors.map { TensorEntry(name: $0.name, type: $0.sourceType.description, shape: $0.shape) }
            let vocabulary = model.tokenizer.vocabulary
            tokenizer = "gpt2"
            preTokenizer = vocabulary.preTokenizer
            vocabularySize = vocabulary.tokens.count
            mergeCount = vocabulary.merges.count
            bosId = vocabulary.bosID
            eosId = vocabulary.eosID
            metadata = Self.render(model.metadata)
            name = model.metadata["general.name"]?.string
            let matched = try HuggingFaceConfig(directory: path).descriptor
            descriptor = DescriptorEntry(matched)
            architecture = matched.name
        }
        parameters = tensors.reduce(0) { $0 + $1.shape.reduce(1, *) }
    }

    /// The human-readable report.
    func text(tensors listTensors: Bool, metadata listMetadata: Bool) -> String {
        var lines: [String] = []
        func row(_ key: String, _ value: String) {
            lines.append(key.padding(toLength: 14, withPad: " ", startingAt: 0) + value)
        }
        row("model", path + (name.map { "  (\($0))" } ?? ""))
        row("format", "\(format), \(tensors.count) tensors, \(Format.bytes(fileBytes))")
        if let shape = config.uniformShape {
            row(
                "architecture",
                "\(architecture): \(config.layerCount) layers, hidden \(config.hiddenSize), FFN \(shape.ffnSize)")
            row(
                "attention",
                "\(shape.headCount) heads, \(shape.kvHeadCount) KV heads (GQA \(shape.groupSize):1), head dim \(config.headDim)"
            )
        } else {
            row(
                "architecture",
                "\(architecture): \(config.layerCount) layers of different shapes, hidden \(config.hiddenSize), head dim \(config.headDim)"
            )
            for (layer, shape) in config.layers.enumerated() {
                let attention =
                    shape.hasAttention ? "\(shape.headCount) heads, \(shape.kvHeadCount) KV heads" : "no attention"
                row("  layer \(layer)", "\(attention), \(shape.hasFFN ? "FFN \(shape.ffnSize)" : "no FFN")")
            }
        }
        let forms = ["GGUF \(descriptor.ggufArchitecture)"] + [descriptor.huggingFaceArchitecture].compactMap { $0 }
        row("descriptor", "\(descriptor.summary) (\(forms.joined(separator: ", ")))")
        var rope = "base \(config.ropeTheta), context \(config.contextLength), RMSNorm eps \(config.rmsNormEpsilon)"
        if config.ropeScaling != .none {
            rope += ", scaling \(config.ropeScaling.summary)"
        } else if tensors.contains(where: { $0.name == LlamaTensorNames.ropeFrequencies }) {
            rope += ", scaling by \(LlamaTensorNames.ropeFrequencies)"
        }
        row("rope", rope)
        if let window = config.slidingWindow { row("window", "sliding-window attention over \(window) positions") }
        row("output", config.tiedEmbedding ? "tied to the token embedding" : "separate output.weight")
        let biases = LlamaTensorNames.Layer.allCases.filter(\.takesBias).compactMap { part -> String? in
            let count = tensors.count {
                LlamaTensorNames.parse($0.name).map { $0.part == part && $0.kind == .bias } ?? false
            }
            return count == 0 ? nil : "\(part.rawValue) in \(count) layers"
        }
        if !biases.isEmpty { row("biases", biases.joined(separator: ", ")) }
        let headNorms = tensors.count { LlamaTensorNames.parse($0.name)?.kind == .headNorm }
        if headNorms > 0 { row("head norms", "q/k RMSNorm per head (Qwen3) in \(headNorms / 2) layers") }
        row("parameters", Format.count(parameters))
        var tokenizerLine = "\(tokenizer) byte-level BPE, pre-tokenizer '\(preTokenizer)', "
        tokenizerLine += "\(vocabularySize) tokens, \(mergeCount) merges"
        if let bosId { tokenizerLine += ", bos \(bosId)" }
        if let eosId { tokenizerLine += ", eos \(eosId)" }
        row("tokenizer", tokenizerLine)
        var typeCounts: [(type: String, count: Int)] = []
        for (type, group) in Dictionary(grouping: tensors, by: \.type) { typeCounts.append((type, group.count)) }
        typeCounts.sort { $0.count != $1.count ? $0.count > $1.count : $0.type < $1.type }
        row("tensor types", typeCounts.map { "\($0.type) x\($0.count)" }.joined(separator: ", "))
        if listMetadata {
            lines.append("metadata:")
            for (key, value) in metadata.sorted(by: { $0.key < $1.key }) { lines.append("  \(key) = \(value)") }
        }
        if listTensors {
            lines.append("tensors:")
            let width = tensors.map(\.name.count).max() ?? 0
            for tensor in tensors {
                lines.append(
                    "  " + tensor.name.padding(toLength: width + 2, withPad: " ", startingAt: 0)
                        + tensor.type.padding(toLength: 6, withPad: " ", startingAt: 0)
                        + tensor.shape.map(String.init).joined(separator: " x "))
            }
        }
        return lines.joined(separator: "\n")
    }

    /// Metadata values as short strings; long arrays are summarised.
    private static func render(_ metadata: GGUFMetadata) -> [String: String] {
        func show(_ value: GGUFValue) -> String {
            switch value {
            case .string(let s): s.count > 200 ? "\"\(s.prefix(200))...\" (\(s.count) characters)" : "\"\(s)\""
            case .array(let type, let elements):
                elements.count > 8
                    ? "[\(elements.prefix(4).map(show).joined(separator: ", ")), ...] (\(elements.count) \(type))"
                    : "[\(elements.map(show).joined(separator: ", "))]"
            case .bool(let b): "\(b)"
            case .float32(let f): "\(f)"
            case .float64(let d): "\(d)"
            default: value.int.map(String.init) ?? "?"
            }
        }
        return Dictionary(uniqueKeysWithValues: metadata.map { ($0.key, show($0.value)) })
    }

    private static func directorySize(_ path: String) -> Int {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        return files.reduce(0) { total, file in
            total + ((try? FileManager.default.attributesOfItem(atPath: path + "/" + file)[.size] as? Int) ?? 0)
        }
    }
}

/// The tokenizer facts `inspect` shows, read from GGUF metadata without building the tokenizer.
private struct BPEVocabularyInfo {
    let model: String, pre: String, tokens: Int, merges: Int
    let bos: Int32?, eos: Int32?

    init(metadata: GGUFMetadata) {
        model = metadata["tokenizer.ggml.model"]?.string ?? "none"
        pre = metadata["tokenizer.ggml.pre"]?.string ?? "default"
        tokens = metadata["tokenizer.ggml.tokens"]?.array?.count ?? 0
        merges = metadata["tokenizer.ggml.merges"]?.array?.count ?? 0
        bos = metadata["tokenizer.ggml.bos_token_id"]?.int.map { Int32(truncatingIfNeeded: $0) }
        eos = metadata["tokenizer.ggml.eos_token_id"]?.int.map { Int32(truncatingIfNeeded: $0) }
    }
}
