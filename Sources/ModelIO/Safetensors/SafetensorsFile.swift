/// A memory-mapped, validated safetensors file.
///
/// Opening reads and checks only the header (see `SafetensorsHeader` for the rules); tensor data
/// is converted to Float32 on request, one tensor at a time.
public final class SafetensorsFile: Sendable {
    /// The file's path.
    public let path: String
    /// The header's `__metadata__` strings (empty when absent).
    public let metadata: [String: String]
    /// Every tensor in data-offset order.
    public let tensorInfos: [SafetensorsTensorInfo]
    private let indexByName: [String: Int]
    private let mapping: MappedFile
    private let dataOffset: Int

    /// Opens and validates `path`.
    ///
    /// - Throws: `ModelIOError` naming the file (and tensor) for any malformed or truncated input.
    public init(path: String) throws(ModelIOError) {
        self.path = path
        mapping = try MappedFile(path: path)
        let header = try SafetensorsHeader(file: mapping.bytes, path: path)
        metadata = header.metadata
        tensorInfos = header.tensors
        dataOffset = header.dataOffset
        indexByName = Dictionary(uniqueKeysWithValues: header.tensors.enumerated().map { ($1.name, $0) })
    }

    /// Tensor names in data-offset order.
    public var tensorNames: [String] { tensorInfos.map(\.name) }

    /// The header entry of `name`, if the file has that tensor.
    public func info(_ name: String) -> SafetensorsTensorInfo? {
        indexByName[name].map { tensorInfos[$0] }
    }

    /// Reads tensor `name` as Float32 (shape as stored; `sourceType` records the file's dtype).
    ///
    /// - Throws: `ModelIOError` if the file has no such tensor or its dtype is not F32/F16/BF16.
    public func tensor(_ name: String) throws(ModelIOError) -> Tensor {
        guard let info = info(name) else { throw ModelIOError(path: path, item: name, "tensor is not in the file") }
        guard let dtype = info.dtype else {
            throw ModelIOError(
                path: path, item: name,
                "dtype \(info.dtypeName) cannot be read as floating point (F32, F16 and BF16 can)")
        }
        let source = mapping.bytes.baseAddress! + dataOffset + info.dataRange.lowerBound
        let storage = TensorStorage(count: info.elementCount) { buffer in
            SafetensorsConversion.decode(dtype, from: source, into: buffer)
        }
        return Tensor(name: name, shape: info.shape, storage: storage, sourceType: dtype.ggmlType)
    }

    /// Decodes tensor `info` (one of this file's, of a floating-point dtype) into `destination`
    /// and drops its mapped pages from the resident set: for a streamed model's tensor kept here.
    package func decode(_ info: SafetensorsTensorInfo, into destination: UnsafeMutableBufferPointer<Float>) {
        precondition(self.info(info.name) == info && destination.count == info.elementCount, "not this file's tensor")
        let start = dataOffset + info.dataRange.lowerBound
        SafetensorsConversion.decode(info.dtype!, from: mapping.bytes.baseAddress! + start, into: destination)
        mapping.releasePages(start..<(dataOffset + info.dataRange.upperBound))
    }

    /// Reads every tensor, in data-offset order.
    public func tensors() throws(ModelIOError) -> [Tensor] {
        var result: [Tensor] = []
        result.reserveCapacity(tensorInfos.count)
        for info in tensorInfos { result.append(try tensor(info.name)) }
        return result
    }
}
