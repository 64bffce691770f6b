/// Writes GGUF version 3 files.
///
/// The file is streamed to a temporary file in the destination's directory and renamed into place
/// only when complete, so the destination is either untouched or the whole new file. The tensors
/// are in memory here; `GGUFStreamWriter` takes them one at a time.
public enum GGUFWriter {
    /// One tensor to write and the element type to store it as.
    public struct Entry: Sendable {
        /// The tensor (row-major shape, Float32 data).
        public var tensor: Tensor
        /// The stored type: one of `Quantization.supportedTypes` (F32, F16, BF16, Q8_0).
        public var type: GGMLType

        /// Creates an entry.
        public init(tensor: Tensor, type: GGMLType) {
            self.tensor = tensor
            self.type = type
        }
    }

    /// Writes `metadata` and `tensors` (in the given order) to `path` as GGUF version 3, through a
    /// `GGUFStreamWriter`. `prepare` maps each tensor just before it is written (same name and
    /// shape), so that tensors decoded on read are held one at a time.
    ///
    /// `alignment` defaults to the metadata's `general.alignment`, else 32. The written file's
    /// `general.alignment` always agrees with the alignment used: the key is set when it was
    /// present or when the alignment is not the default 32, and left absent otherwise.
    ///
    /// - Throws: `ModelIOError` naming `path` and the key or tensor at fault (unsupported type,
    ///   bad shape or name, non-finite values for Q8_0, mistyped array element, bad alignment, I/O error).
    public static func write(
        metadata: GGUFMetadata, tensors: [Entry], to path: String, alignment: Int? = nil,
        prepare: (Tensor) -> Tensor = { $0 }
    ) throws(ModelIOError) {
        let writer = try GGUFStreamWriter(
            path: path, metadata: metadata,
            tensors: tensors.map { .init(name: $0.tensor.name, shape: $0.tensor.shape, type: $0.type) },
            alignment: alignment)
        for entry in tensors {
            // A streamed tensor is decoded here, one at a time, and let go after.
            let storage = prepare(entry.tensor).storage
            try withExtendedLifetime(storage) { () throws(ModelIOError) in
                try writer.append(UnsafeBufferPointer(storage.buffer))
            }
        }
        try writer.commit()
    }
}
