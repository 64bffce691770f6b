/// A GGUF model file (version 2 or 3), memory-mapped read-only and fully validated on open.
///
/// Opening parses the header, metadata and tensor table and checks every count, size, offset and
/// type against the file, so that `rawData(of:)` and `loadTensor(_:)` never touch memory outside
/// the mapping. The mapping lives as long as this object.
public final class GGUFFile: @unchecked Sendable {
    // @unchecked Sendable: every stored property is immutable after init; the mapping is read-only.

    /// The path the file was opened from.
    public let path: String
    /// The GGUF version (2 or 3).
    public let version: UInt32
    /// The alignment of tensor data (from `general.alignment`, default 32).
    public let alignment: Int
    /// The metadata, in file order.
    public let metadata: GGUFMetadata
    /// The tensors, in file order.
    public let tensors: [GGUFTensorInfo]
    /// Offset of the data section from the start of the file.
    public let dataOffset: Int

    private let mapping: MappedFile
    private let tensorIndex: [String: Int]

    /// Opens and validates the GGUF file at `path`.
    ///
    /// - Throws: `ModelIOError` naming the file and the key or tensor at fault.
    public init(path: String) throws(ModelIOError) {
        self.path = path
        mapping = try MappedFile(path: path)
        let header = try GGUFHeaderParser.parse(bytes: mapping.bytes, path: path)
        version = header.version
        alignment = header.alignment
        metadata = header.metadata
        tensors = header.tensors
        dataOffset = header.dataOffset
        tensorIndex = header.tensorIndex
    }

    /// The description of the tensor called `name`, if the file has one.
    public func tensorInfo(named name: String) -> GGUFTensorInfo? {
        tensorIndex[name].map { tensors[$0] }
    }

    /// The stored bytes of a tensor of this file, borrowed from the mapping: valid while this
    /// object lives. `info` must come from this file's `tensors`.
    public func rawData(of info: GGUFTensorInfo) -> UnsafeRawBufferPointer {
        let start = dataOffset + info.offset
        precondition(
            start >= dataOffset && start + info.byteCount <= mapping.bytes.count,
            "tensor info \(info.name) does not belong to \(path)")
        return UnsafeRawBufferPointer(rebasing: mapping.bytes[start..<(start + info.byteCount)])
    }

    /// Drops the mapped pages of a tensor's data from the process's resident set (they stay in
    /// the page cache): a streamed model calls it after decoding the tensor.
    package func releasePages(of info: GGUFTensorInfo) {
        releasePages(of: info, bytes: 0..<info.byteCount)
    }

    /// Drops the mapped pages of the byte range `bytes` of a tensor's data (whole pages inside it).
    package func releasePages(of info: GGUFTensorInfo, bytes: Range<Int>) {
        let start = dataOffset + info.offset
        mapping.releasePages((start + bytes.lowerBound)..<(start + bytes.upperBound))
    }

    /// Checks that `info`, one of this file's tensors, has a type Shears can dequantize.
    ///
    /// - Throws: `ModelIOError` naming the tensor, its type and the supported ones.
    package func checkDequantizable(_ info: GGUFTensorInfo) throws(ModelIOError) {
        guard Dequantization.isSupported(info.type) else {
            throw ModelIOError(
                path: path, item: info.name,
                "tensor type \(info.type.name) (ggml type \(info.type.rawValue)) cannot be dequantized; supported: \(Dequantization.supportedTypes.map(\.name).joined(separator: ", "))"
            )
        }
    }

    /// Reads a tensor and converts it to Float32 with a row-major shape; `sourceType` records the
    /// stored type.
    ///
    /// - Throws: `ModelIOError` if the tensor's type cannot be dequantized or `info` is not one
    ///   of this file's tensors.
    public func loadTensor(_ info: GGUFTensorInfo) throws(ModelIOError) -> Tensor {
        guard tensorInfo(named: info.name) == info else {
            throw ModelIOError(path: path, item: info.name, "tensor info does not describe a tensor of this file")
        }
        try checkDequantizable(info)
        let source = rawData(of: info)
        let storage = TensorStorage(count: info.elementCount) { destination in
            Dequantization.dequantize(source, type: info.type, into: destination)
        }
        return Tensor(name: info.name, shape: info.shape, storage: storage, sourceType: info.type)
    }

    /// Reads the tensor called `name` (see `loadTensor(_:)`).
    ///
    /// - Throws: `ModelIOError` if the file has no such tensor or its type cannot be dequantized.
    public func loadTensor(named name: String) throws(ModelIOError) -> Tensor {
        guard let info = tensorInfo(named: name) else {
            throw ModelIOError(path: path, item: name, "tensor is missing")
        }
        return try loadTensor(info)
    }

    /// Reads every tensor in file order (see `loadTensor(_:)`).
    public func loadAllTensors() throws(ModelIOError) -> [Tensor] {
        var result: [Tensor] = []
        result.reserveCapacity(tensors.count)
        for info in tensors { result.append(try loadTensor(info)) }
        return result
    }
}
