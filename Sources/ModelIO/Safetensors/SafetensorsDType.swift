/// The safetensors element types Shears reads into and writes from Float32 tensors.
public enum SafetensorsDType: String, Sendable, CaseIterable, CustomStringConvertible {
    /// IEEE binary32.
    case f32 = "F32"
    /// IEEE binary16.
    case f16 = "F16"
    /// bfloat16 (the top 16 bits of a binary32).
    case bf16 = "BF16"

    /// Bytes per element.
    public var byteCount: Int { self == .f32 ? 4 : 2 }

    /// The matching GGML type (recorded as a tensor's `sourceType`).
    public var ggmlType: GGMLType {
        switch self {
        case .f32: .f32
        case .f16: .f16
        case .bf16: .bf16
        }
    }

    /// The PyTorch dtype name `config.json` uses (`torch_dtype`).
    public var torchName: String {
        switch self {
        case .f32: "float32"
        case .f16: "float16"
        case .bf16: "bfloat16"
        }
    }

    /// The type whose `torchName` is `name`, if any.
    public init?(torchName name: String) {
        guard let match = Self.allCases.first(where: { $0.torchName == name }) else { return nil }
        self = match
    }

    /// The name used in safetensors headers (`F32`, `F16`, `BF16`).
    public var description: String { rawValue }

    /// Every dtype name of the safetensors format with its element size in bytes; a header naming
    /// anything else is rejected. Types not in `SafetensorsDType` can be skipped but not read.
    static let formatElementSizes: [String: Int] = [
        "BOOL": 1, "U8": 1, "I8": 1, "F8_E5M2": 1, "F8_E4M3": 1, "F8_E8M0": 1,
        "I16": 2, "U16": 2, "F16": 2, "BF16": 2,
        "I32": 4, "U32": 4, "F32": 4,
        "I64": 8, "U64": 8, "F64": 8,
    ]
}
