/// Writes GGUF version 3 files.
///
/// The file is streamed to a temporary file in the destination's directory and renamed into place
/// only when complete, so the destination is either untouched or the whole new file.
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

    /// Elements encoded per write call; bounds the writer's memory use for large tensors.
    private static let elementsPerChunk = 1 << 20

    /// Writes `metadata` and `tensors` (in the given order) to `path` as GGUF version 3.
    ///
    /// `alignment` defaults to the metadata's `general.alignment`, else 32. The written file's
    /// `general.alignment` always agrees with the alignment used: the key is set when it was
    /// present or when the alignment is not the default 32, and left absent otherwise.
    ///
    /// - Throws: `ModelIOError` naming `path` and the key or tensor at fault (unsupported type,
    ///   bad shape or name, non-finite values for Q8_0, mistyped array element, bad alignment, I/O error).
    public static func write(
        metadata: GGUFMetadata, tensors: [Entry], to path: String, alignment: Int? = nil
    ) throws(ModelIOError) {
        var metadata = metadata
        let alignment = try resolveAlignment(alignment, metadata: &metadata, path: path)
        let infos = try layout(tensors, alignment: alignment, path: path)

        var encoder = GGUFEncoder(path: path)
        encoder.raw(GGUFFormat.magic)
        encoder.integer(GGUFFormat.writtenVersion)
        encoder.integer(UInt64(infos.count))
        encoder.integer(UInt64(metadata.count))
        for (key, value) in metadata { try encoder.entry(key: key, value: value) }
        for info in infos { encoder.tensorInfo(info) }
        encoder.pad(to: alignment)

        let output = try AtomicOutputFile(path: path, replacingExisting: true)
        try output.write(encoder.bytes)
        var written = 0
        for (entry, info) in zip(tensors, infos) {
            try output.writeZeros(info.offset - written)
            try writeData(of: entry.tensor, as: info.type, to: output)
            written = info.offset + info.byteCount
        }
        // Every tensor's data is padded to the alignment, the last one's too, as ggml and the gguf
        // package write it: ggml's reader loads the data blob by its padded size.
        try output.writeZeros((alignment - written % alignment) % alignment)
        try output.commit()
    }

    /// The alignment to use, with `general.alignment` in `metadata` made to agree with it.
    private static func resolveAlignment(
        _ requested: Int?, metadata: inout GGUFMetadata, path: String
    ) throws(ModelIOError) -> Int {
        let key = GGUFFormat.alignmentKey
        let existing = metadata[key]
        let alignment: Int
        if let requested {
            alignment = requested
        } else if let existing {
            guard let value = existing.int else {
                throw ModelIOError(path: path, item: key, "must be an integer, found \(existing.type)")
            }
            alignment = value
        } else {
            alignment = GGUFFormat.defaultAlignment
        }
        guard alignment > 0, alignment <= Int(UInt32.max), alignment & (alignment - 1) == 0 else {
            throw ModelIOError(path: path, item: key, "alignment must be a nonzero power of two, got \(alignment)")
        }
        if existing != nil || alignment != GGUFFormat.defaultAlignment {
            metadata[key] = .uint32(UInt32(alignment))
        }
        return alignment
    }

    /// Validates every entry and assigns aligned data offsets, in order.
    private static func layout(
        _ entries: [Entry], alignment: Int, path: String
    ) throws(ModelIOError) -> [GGUFTensorInfo] {
        var names = Set<String>()
        var infos: [GGUFTensorInfo] = []
        var offset = 0
        for entry in entries {
            let tensor = entry.tensor, type = entry.type
            guard names.insert(tensor.name).inserted else {
                throw ModelIOError(path: path, item: tensor.name, "tensor name appears twice")
            }
            guard !tensor.name.isEmpty, tensor.name.utf8.count <= GGUFFormat.maxTensorNameBytes else {
                throw ModelIOError(
                    path: path, item: tensor.name,
                    "tensor name must be 1 to \(GGUFFormat.maxTensorNameBytes) bytes long (llama.cpp's limit)")
            }
            guard Quantization.isSupported(type) else {
                throw ModelIOError(
                    path: path, item: tensor.name,
                    "cannot write tensors of type \(type.name); supported: \(Quantization.supportedTypes.map(\.name).joined(separator: ", "))"
                )
            }
            guard (1...GGUFFormat.maxDimensions).contains(tensor.shape.count), tensor.shape.allSatisfy({ $0 > 0 })
            else {
                throw ModelIOError(
                    path: path, item: tensor.name,
                    "shape \(tensor.shape) must have 1 to \(GGUFFormat.maxDimensions) positive dimensions")
            }
            guard tensor.shape.last! % type.blockSize == 0 else {
                throw ModelIOError(
                    path: path, item: tensor.name,
                    "row length \(tensor.shape.last!) is not a multiple of the \(type.name) block size \(type.blockSize)"
                )
            }
            if [.q8_0, .q5_0, .q4_0].contains(type), let bad = tensor.storage.buffer.firstIndex(where: { !$0.isFinite })
            {
                throw ModelIOError(
                    path: path, item: tensor.name,
                    "element \(bad) is \(tensor.storage.buffer[bad]); \(type.name) needs finite values")
            }
            let info = GGUFTensorInfo(
                name: tensor.name, dimensions: tensor.shape.reversed(), type: type, offset: offset)
            infos.append(info)
            offset += info.byteCount
            offset += (alignment - offset % alignment) % alignment
        }
        return infos
    }

    /// Encodes a tensor's data as `type` chunk by chunk and appends it to `output`.
    private static func writeData(
        of tensor: Tensor, as type: GGMLType, to output: AtomicOutputFile
    ) throws(ModelIOError) {
        let elements = UnsafeBufferPointer(tensor.storage.buffer)
        let rowLength = tensor.shape.last!
        let chunk = max(1, elementsPerChunk / rowLength) * rowLength
        let buffer = UnsafeMutableRawBufferPointer.allocate(
            byteCount: Quantization.byteCount(elements: min(chunk, elements.count), type: type), alignment: 64)
        defer { buffer.deallocate() }
        var start = 0
        while start < elements.count {
            let end = min(start + chunk, elements.count)
            let encoded = UnsafeMutableRawBufferPointer(
                rebasing: buffer[0..<Quantization.byteCount(elements: end - start, type: type)])
            Quantization.quantize(UnsafeBufferPointer(rebasing: elements[start..<end]), type: type, into: encoded)
            try output.write(UnsafeRawBufferPointer(encoded))
            start = end
        }
    }
}
