import Foundation
import ModelIO
import TestSupport
import Tokenization

/// Loads the real model for these tests through `GGUFFile` (the production loader lives with the
/// CLI): LLaMA numbers from the `llama.*` metadata, every tensor dequantized, and a placeholder
/// vocabulary of the right size (the forward pass never looks at token strings).
enum SmolLM2Loader {
    struct MissingKey: Error, CustomStringConvertible {
        let description: String
    }

    /// The model at `ReferenceData.modelPath`, loaded once per test process.
    static let shared: Result<Model, any Error> = Result { try load(ReferenceData.modelPath) }

    static func load(_ path: String) throws -> Model {
        let file = try GGUFFile(path: path)
        func number(_ key: String) throws -> GGUFValue {
            guard let value = file.metadata["llama." + key] else {
                throw MissingKey(description: "\(path): no llama.\(key)")
            }
            return value
        }
        func integer(_ key: String) throws -> Int {
            guard let value = try number(key).int else {
                throw MissingKey(description: "\(path): llama.\(key) is not an integer")
            }
            return value
        }
        func float(_ key: String) throws -> Float {
            guard let value = try number(key).double else {
                throw MissingKey(description: "\(path): llama.\(key) is not a float")
            }
            return Float(value)
        }
        let tensors = try file.loadAllTensors()
        guard let embedding = tensors.first(where: { $0.name == LlamaTensorNames.tokenEmbedding }) else {
            throw MissingKey(description: "\(path): no \(LlamaTensorNames.tokenEmbedding)")
        }
        let config = LlamaConfig(
            layerCount: try integer("block_count"), hiddenSize: try integer("embedding_length"),
            headCount: try integer("attention.head_count"), kvHeadCount: try integer("attention.head_count_kv"),
            ffnSize: try integer("feed_forward_length"), vocabSize: embedding.rows,
            contextLength: try integer("context_length"), ropeTheta: try float("rope.freq_base"),
            rmsNormEpsilon: try float("attention.layer_norm_rms_epsilon"),
            tiedEmbedding: !tensors.contains { $0.name == LlamaTensorNames.output })
        let tokenizer = try Tokenizer(vocabulary: TinyModel.vocabulary(size: config.vocabSize))
        return try Model(
            config: config, tensors: tensors, metadata: file.metadata, tokenizer: tokenizer, sourcePath: path)
    }
}
