import Foundation
import ModelIO
import TestSupport
import Tokenization

/// A minimal GGUF reader for the real-model tests (F32, F16, Q8_0, Q4_1 tensors; LLaMA metadata),
/// kept in the test target so these tests do not depend on the production loader.
enum SmolLM2Loader {
    struct LoadError: Error, CustomStringConvertible {
        let description: String
    }

    /// The model at `ReferenceData.modelPath`, loaded once per test process.
    static let shared: Result<Model, any Error> = Result { try load(ReferenceData.modelPath) }

    static func load(_ path: String) throws -> Model {
        let data = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped)
        return try data.withUnsafeBytes { raw throws -> Model in
            var reader = Reader(raw: raw, path: path)
            guard try reader.bytes(4) == Array("GGUF".utf8) else { throw LoadError(description: "\(path): not GGUF") }
            let version: UInt32 = try reader.scalar()
            guard version == 3 || version == 2 else { throw LoadError(description: "\(path): GGUF version \(version)") }
            let tensorCount = Int(try reader.scalar() as UInt64)
            let keyCount = Int(try reader.scalar() as UInt64)
            var numbers: [String: Double] = [:]
            for _ in 0..<keyCount {
                let key = try reader.string()
                let type: UInt32 = try reader.scalar()
                if let value = try reader.value(type: type) { numbers[key] = value }
            }
            var infos: [(name: String, shape: [Int], type: UInt32, offset: Int)] = []
            for _ in 0..<tensorCount {
                let name = try reader.string()
                let dimCount: UInt32 = try reader.scalar()
                var dims: [Int] = []
                for _ in 0..<dimCount { dims.append(Int(try reader.scalar() as UInt64)) }
                let type: UInt32 = try reader.scalar()
                let offset: UInt64 = try reader.scalar()
                infos.append((name, dims.reversed(), type, Int(offset)))
            }
            let alignment = Int(numbers["general.alignment"] ?? 32)
            let dataStart = (reader.offset + alignment - 1) / alignment * alignment
            let tensors = try infos.map { info in
                try dequantize(raw, at: dataStart + info.offset, info.name, info.shape, info.type, path)
            }
            func number(_ key: String) throws -> Double {
                guard let value = numbers["llama." + key] else { throw LoadError(description: "\(path): no llama.\(key)") }
                return value
            }
            let embedding = tensors.first { $0.name == LlamaTensorNames.tokenEmbedding }!
            let config = LlamaConfig(
                layerCount: Int(try number("block_count")), hiddenSize: Int(try number("embedding_length")),
                headCount: Int(try number("attention.head_count")), kvHeadCount: Int(try number("attention.head_count_kv")),
                ffnSize: Int(try number("feed_forward_length")), vocabSize: embedding.rows,
                contextLength: Int(try number("context_length")), ropeTheta: Float(try number("rope.freq_base")),
                rmsNormEpsilon: Float(try number("attention.layer_norm_rms_epsilon")),
                tiedEmbedding: !tensors.contains { $0.name == LlamaTensorNames.output })
            let vocabulary = TinyModel.vocabulary(size: config.vocabSize)
            return try Model(config: config, tensors: tensors, metadata: GGUFMetadata(),
                             tokenizer: try Tokenizer(vocabulary: vocabulary), sourcePath: path)
        }
    }

    private static func dequantize(
        _ raw: UnsafeRawBufferPointer, at start: Int, _ name: String, _ shape: [Int], _ type: UInt32, _ path: String
    ) throws -> Tensor {
        let count = shape.reduce(1, *)
        func half(_ offset: Int) -> Float { Float(Float16(bitPattern: raw.loadUnaligned(fromByteOffset: offset, as: UInt16.self))) }
        let bytes: Int = switch type {
        case 0: count * 4
        case 1: count * 2
        case 8: count / 32 * 34
        case 3: count / 32 * 20
        default: throw LoadError(description: "\(path): \(name): unsupported type \(type)")
        }
        guard start + bytes <= raw.count else { throw LoadError(description: "\(path): \(name): data out of file") }
        let storage = TensorStorage(count: count) { out in
            switch type {
            case 0: for i in 0..<count { out[i] = raw.loadUnaligned(fromByteOffset: start + 4 * i, as: Float.self) }
            case 1: for i in 0..<count { out[i] = half(start + 2 * i) }
            case 8:
                for block in 0..<(count / 32) {
                    let base = start + block * 34
                    let scale = half(base)
                    for j in 0..<32 { out[block * 32 + j] = scale * Float(Int8(bitPattern: raw[base + 2 + j])) }
                }
            default:
                for block in 0..<(count / 32) {
                    let base = start + block * 20
                    let scale = half(base), minimum = half(base + 2)
                    for j in 0..<16 {
                        let byte = raw[base + 4 + j]
                        out[block * 32 + j] = scale * Float(byte & 0x0F) + minimum
                        out[block * 32 + j + 16] = scale * Float(byte >> 4) + minimum
                    }
                }
            }
        }
        return Tensor(name: name, shape: shape, storage: storage)
    }

    private struct Reader {
        let raw: UnsafeRawBufferPointer
        let path: String
        var offset = 0

        mutating func bytes(_ n: Int) throws -> [UInt8] {
            guard offset + n <= raw.count else { throw LoadError(description: "\(path): truncated header") }
            defer { offset += n }
            return Array(raw[offset..<offset + n])
        }

        mutating func scalar<T: FixedWidthInteger>() throws -> T {
            guard offset + MemoryLayout<T>.size <= raw.count else { throw LoadError(description: "\(path): truncated header") }
            defer { offset += MemoryLayout<T>.size }
            return raw.loadUnaligned(fromByteOffset: offset, as: T.self)
        }

        mutating func string() throws -> String {
            let length = Int(try scalar() as UInt64)
            return String(decoding: try bytes(length), as: UTF8.self)
        }

        /// Reads a value of GGUF type `type`; returns scalars as Double, skips strings and arrays.
        mutating func value(type: UInt32) throws -> Double? {
            switch type {
            case 0: return Double(try scalar() as UInt8)
            case 1: return Double(try scalar() as Int8)
            case 2: return Double(try scalar() as UInt16)
            case 3: return Double(try scalar() as Int16)
            case 4: return Double(try scalar() as UInt32)
            case 5: return Double(try scalar() as Int32)
            case 6: return Double(Float(bitPattern: try scalar() as UInt32))
            case 7: return Double(try scalar() as UInt8)
            case 8: _ = try string(); return nil
            case 9:
                let elementType: UInt32 = try scalar()
                let count = Int(try scalar() as UInt64)
                for _ in 0..<count { _ = try value(type: elementType) }
                return nil
            case 10: return Double(try scalar() as UInt64)
            case 11: return Double(try scalar() as Int64)
            case 12: return Double(bitPattern: try scalar() as UInt64)
            default: throw LoadError(description: "\(path): unknown metadata type \(type)")
            }
        }
    }
}
