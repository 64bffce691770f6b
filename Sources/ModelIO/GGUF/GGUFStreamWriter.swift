/// Writes a GGUF version 3 file one tensor at a time, so that a model never has to be whole in
/// memory: the header and every tensor's info go first (names, shapes and types are known up
/// front), then each tensor's Float32 data is appended in the declared order, in as many pieces
/// of whole rows as the caller likes, encoded chunk by chunk.
///
/// The file grows under a temporary name in the destination's directory and is renamed into
/// place by `commit()`; a writer dropped before (or a failed commit) leaves nothing behind.
package final class GGUFStreamWriter {
    /// One tensor the file will hold.
    package struct Slot: Sendable, Equatable {
        /// The tensor's name, e.g. `blk.0.attn_q.weight`.
        package var name: String
        /// Row-major shape, outermost first.
        package var shape: [Int]
        /// The stored type: one of `Quantization.supportedTypes`.
        package var type: GGMLType

        /// Creates a slot.
        package init(name: String, shape: [Int], type: GGMLType) {
            self.name = name
            self.shape = shape
            self.type = type
        }
    }

    /// Elements encoded per write call; bounds the writer's own memory use.
    private static let elementsPerChunk = 1 << 20

    /// The destination path.
    package let path: String
    /// The tensor table written in the header, in data order.
    package let infos: [GGUFTensorInfo]
    private let alignment: Int
    private let output: AtomicOutputFile
    /// The tensor being appended to (`infos.count` once all are complete).
    private var current = 0
    /// Elements of the current tensor appended so far.
    private var appended = 0
    /// Bytes of the data section written so far.
    private var written = 0

    /// Validates the tensor table, creates the temporary file and writes the header.
    ///
    /// `alignment` defaults to the metadata's `general.alignment`, else 32; the written
    /// `general.alignment` always agrees with it. With `replacingExisting` false an existing `path`
    /// is refused (now and at commit).
    ///
    /// - Throws: `ModelIOError` naming `path` and the key or tensor at fault (unsupported type,
    ///   bad shape or name, mistyped array element, bad alignment, I/O error).
    package init(
        path: String, metadata: GGUFMetadata, tensors: [Slot], alignment: Int? = nil, replacingExisting: Bool = true
    ) throws(ModelIOError) {
        var metadata = metadata
        self.path = path
        self.alignment = try Self.resolveAlignment(alignment, metadata: &metadata, path: path)
        infos = try Self.layout(tensors, alignment: self.alignment, path: path)

        var encoder = GGUFEncoder(path: path)
        encoder.raw(GGUFFormat.magic)
        encoder.integer(GGUFFormat.writtenVersion)
        encoder.integer(UInt64(infos.count))
        encoder.integer(UInt64(metadata.count))
        for (key, value) in metadata { try encoder.entry(key: key, value: value) }
        for info in infos { encoder.tensorInfo(info) }
        encoder.pad(to: self.alignment)

        output = try AtomicOutputFile(path: path, replacingExisting: replacingExisting)
        try output.write(encoder.bytes)
    }

    /// The tensor the next `append` writes into; nil when every tensor is complete.
    package var nextTensor: GGUFTensorInfo? { current < infos.count ? infos[current] : nil }

    /// Appends whole rows of the current tensor's Float32 data; the tensor is complete (and the
    /// next one current) once all its elements have been appended.
    ///
    /// - Throws: `ModelIOError` when every tensor is already complete, `elements` is not a whole
    ///   number of rows or overruns the tensor, a Q8_0/Q5_0/Q4_0 tensor receives a non-finite
    ///   value (naming the element), or writing fails.
    package func append(_ elements: UnsafeBufferPointer<Float>) throws(ModelIOError) {
        guard let info = nextTensor else {
            throw ModelIOError(path: path, "every tensor is already written; nothing more can be appended")
        }
        let rowLength = info.dimensions[0]
        guard elements.count % rowLength == 0, appended + elements.count <= info.elementCount else {
            throw ModelIOError(
                path: path, item: info.name,
                "appending \(elements.count) elements after \(appended) of \(info.elementCount) does not end on a "
                    + "row of \(rowLength) inside the tensor")
        }
        if [.q8_0, .q5_0, .q4_0].contains(info.type), let bad = elements.firstIndex(where: { !$0.isFinite }) {
            throw ModelIOError(
                path: path, item: info.name,
                "element \(appended + bad) is \(elements[bad]); \(info.type.name) needs finite values")
        }
        let chunk = max(1, Self.elementsPerChunk / rowLength) * rowLength
        let buffer = UnsafeMutableRawBufferPointer.allocate(
            byteCount: Quantization.byteCount(elements: min(chunk, elements.count), type: info.type), alignment: 64)
        defer { buffer.deallocate() }
        var start = 0
        while start < elements.count {
            let end = min(start + chunk, elements.count)
            let encoded = UnsafeMutableRawBufferPointer(
                rebasing: buffer[0..<Quantization.byteCount(elements: end - start, type: info.type)])
            Quantization.quantize(UnsafeBufferPointer(rebasing: elements[start..<end]), type: info.type, into: encoded)
            try output.write(UnsafeRawBufferPointer(encoded))
            start = end
        }
        appended += elements.count
        if appended == info.elementCount {
            // Every tensor's data is padded to the alignment, the last one's too, as ggml and the
            // gguf package write it: ggml's reader loads the data blob by its padded size.
            written = info.offset + info.byteCount
            let padding = (alignment - written % alignment) % alignment
            try output.writeZeros(padding)
            written += padding
            current += 1
            appended = 0
        }
    }

    /// Flushes the file to disk and renames it into place.
    ///
    /// - Throws: `ModelIOError` naming the first tensor not completely appended, or an I/O error.
    package func commit() throws(ModelIOError) {
        if let info = nextTensor {
            throw ModelIOError(
                path: path, item: info.name,
                "only \(appended) of its \(info.elementCount) elements were written; the file is incomplete")
        }
        try output.commit()
    }

    /// The alignment to use, with `general.alignment` in `metadata` made to agree with it: the key
    /// is set when it was present or when the alignment is not the default 32.
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

    /// Validates every slot and assigns aligned data offsets, in order.
    private static func layout(_ slots: [Slot], alignment: Int, path: String) throws(ModelIOError) -> [GGUFTensorInfo] {
        var names = Set<String>()
        var infos: [GGUFTensorInfo] = []
        var offset = 0
        for slot in slots {
            let name = slot.name, shape = slot.shape, type = slot.type
            guard names.insert(name).inserted else {
                throw ModelIOError(path: path, item: name, "tensor name appears twice")
            }
            guard !name.isEmpty, name.utf8.count <= GGUFFormat.maxTensorNameBytes else {
                throw ModelIOError(
                    path: path, item: name,
                    "tensor name must be 1 to \(GGUFFormat.maxTensorNameBytes) bytes long (llama.cpp's limit)")
            }
            guard Quantization.isSupported(type) else {
                throw ModelIOError(
                    path: path, item: name,
                    "cannot write tensors of type \(type.name); supported: \(Quantization.supportedTypes.map(\.name).joined(separator: ", "))"
                )
            }
            guard (1...GGUFFormat.maxDimensions).contains(shape.count), shape.allSatisfy({ $0 > 0 }) else {
                throw ModelIOError(
                    path: path, item: name,
                    "shape \(shape) must have 1 to \(GGUFFormat.maxDimensions) positive dimensions")
            }
            guard shape.last! % type.blockSize == 0 else {
                throw ModelIOError(
                    path: path, item: name,
                    "row length \(shape.last!) is not a multiple of the \(type.name) block size \(type.blockSize)")
            }
            let info = GGUFTensorInfo(name: name, dimensions: shape.reversed(), type: type, offset: offset)
            infos.append(info)
            offset += info.byteCount
            offset += (alignment - offset % alignment) % alignment
        }
        return infos
    }
}
