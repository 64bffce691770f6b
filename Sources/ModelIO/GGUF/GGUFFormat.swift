/// Fixed facts of the GGUF container format.
public enum GGUFFormat {
    /// The four magic bytes every GGUF file starts with: `GGUF`.
    public static let magic: [UInt8] = Array("GGUF".utf8)
    /// The versions this reader accepts (the layout of 2 and 3 is identical for little-endian files).
    public static let supportedVersions: ClosedRange<UInt32> = 2...3
    /// The version the writer produces.
    public static let writtenVersion: UInt32 = 3
    /// Data alignment when `general.alignment` is absent.
    public static let defaultAlignment = 32
    /// The metadata key that sets the data alignment.
    public static let alignmentKey = "general.alignment"
    /// Longest tensor name, in UTF-8 bytes, that llama.cpp accepts (GGML_MAX_NAME − 1).
    public static let maxTensorNameBytes = 63
    /// Most dimensions a ggml tensor can have.
    public static let maxDimensions = 4
    /// Deepest nesting of arrays inside arrays the reader accepts (guards the stack against hostile files).
    public static let maxArrayNesting = 8
}
