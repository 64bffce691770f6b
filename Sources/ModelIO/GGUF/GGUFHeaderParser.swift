/// Parses and validates everything in a GGUF file before the tensor data: header, metadata,
/// alignment and the tensor table.
enum GGUFHeaderParser {
    /// The parsed header of a valid file.
    struct Header {
        var version: UInt32
        var alignment: Int
        var metadata: GGUFMetadata
        var tensors: [GGUFTensorInfo]
        var tensorIndex: [String: Int]
        var dataOffset: Int
    }

    /// Smallest possible metadata entry: empty key (8), type (4), one byte of value.
    private static let minimumEntrySize = 13
    /// Smallest possible tensor-table entry: empty name (8), n_dims (4), one dimension (8), type (4), offset (8).
    private static let minimumTensorInfoSize = 32

    /// Parses `bytes` (the whole file at `path`).
    static func parse(bytes: UnsafeRawBufferPointer, path: String) throws(ModelIOError) -> Header {
        var cursor = GGUFByteCursor(bytes: bytes, path: path)
        try cursor.require(4, for: "the magic bytes", item: nil)
        let magic = Array(bytes[0..<4])
        guard magic == GGUFFormat.magic else {
            let shown = magic.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined(separator: " ")
            throw ModelIOError(path: path, "not a GGUF file: magic bytes are \(shown), expected 47 47 55 46 (\"GGUF\")")
        }
        _ = try cursor.integer(UInt32.self, "magic", item: nil)
        let version = try cursor.integer(UInt32.self, "the version", item: nil)
        guard GGUFFormat.supportedVersions.contains(version) else {
            if GGUFFormat.supportedVersions.contains(version.byteSwapped) {
                throw ModelIOError(path: path, "big-endian GGUF files are not supported")
            }
            if version == 1 {
                throw ModelIOError(path: path, "GGUF version 1 is not supported (only versions 2 and 3 are)")
            }
            throw ModelIOError(path: path, "unknown GGUF version \(version) (only versions 2 and 3 are supported)")
        }
        let tensorCount = try cursor.count("tensor count", item: nil, minimumElementSize: minimumTensorInfoSize)
        let entryCount = try cursor.count("metadata key count", item: nil, minimumElementSize: minimumEntrySize)

        let metadata = try parseMetadata(&cursor, count: entryCount)
        let alignment = try alignment(of: metadata, path: path)
        let (tensors, index) = try parseTensorTable(&cursor, count: tensorCount, alignment: alignment)

        let (dataOffset, overflow) = cursor.position.addingReportingOverflow(
            (alignment - cursor.position % alignment) % alignment)
        let dataSize = overflow ? 0 : max(0, bytes.count - dataOffset)
        try checkPlacement(of: tensors, dataSize: dataSize, path: path)
        return Header(
            version: version, alignment: alignment, metadata: metadata, tensors: tensors,
            tensorIndex: index, dataOffset: dataOffset)
    }

    private static func parseMetadata(_ cursor: inout GGUFByteCursor, count: Int) throws(ModelIOError) -> GGUFMetadata {
        var metadata = GGUFMetadata()
        for entry in 0..<count {
            let key = try cursor.string("key", item: "metadata entry #\(entry)")
            guard !key.isEmpty else {
                throw ModelIOError(path: cursor.path, item: "metadata entry #\(entry)", "key is empty")
            }
            if metadata[key] != nil {
                throw ModelIOError(path: cursor.path, item: key, "metadata key appears twice")
            }
            let type = try cursor.valueType("value type", key: key)
            metadata[key] = try cursor.value(of: type, key: key)
        }
        return metadata
    }

    private static func alignment(of metadata: GGUFMetadata, path: String) throws(ModelIOError) -> Int {
        guard let value = metadata[GGUFFormat.alignmentKey] else { return GGUFFormat.defaultAlignment }
        guard case .uint32(let raw) = value else {
            throw ModelIOError(path: path, item: GGUFFormat.alignmentKey, "must be a uint32, found \(value.type)")
        }
        guard raw != 0, raw & (raw - 1) == 0 else {
            throw ModelIOError(
                path: path, item: GGUFFormat.alignmentKey, "must be a nonzero power of two, found \(raw)")
        }
        return Int(raw)
    }

    private static func parseTensorTable(
        _ cursor: inout GGUFByteCursor, count: Int, alignment: Int
    ) throws(ModelIOError) -> ([GGUFTensorInfo], [String: Int]) {
        let path = cursor.path
        var tensors: [GGUFTensorInfo] = []
        var index: [String: Int] = [:]
        tensors.reserveCapacity(count)
        for number in 0..<count {
            let name = try cursor.string("name", item: "tensor #\(number)")
            guard !name.isEmpty else {
                throw ModelIOError(path: path, item: "tensor #\(number)", "tensor name is empty")
            }
            if index[name] != nil { throw ModelIOError(path: path, item: name, "tensor name appears twice") }
            let dimensionCount = try cursor.integer(UInt32.self, "dimension count", item: name)
            guard (1...UInt32(GGUFFormat.maxDimensions)).contains(dimensionCount) else {
                throw ModelIOError(
                    path: path, item: name,
                    "tensor has \(dimensionCount) dimensions; GGUF allows 1 to \(GGUFFormat.maxDimensions)")
            }
            var dimensions: [Int] = []
            var elementCount = 1
            for _ in 0..<dimensionCount {
                let raw = try cursor.integer(UInt64.self, "dimension", item: name)
                guard raw > 0, raw <= UInt64(Int.max) else {
                    throw ModelIOError(path: path, item: name, "dimension \(raw) is not a positive element count")
                }
                let (product, overflow) = elementCount.multipliedReportingOverflow(by: Int(raw))
                dimensions.append(Int(raw))
                guard !overflow else {
                    throw ModelIOError(
                        path: path, item: name,
                        "dimensions \(dimensions)... overflow the element count")
                }
                elementCount = product
            }
            let rawType = try cursor.integer(UInt32.self, "tensor type", item: name)
            guard let type = GGMLType(rawValue: rawType) else {
                throw ModelIOError(path: path, item: name, "unknown tensor type \(rawType)")
            }
            guard dimensions[0] % type.blockSize == 0 else {
                throw ModelIOError(
                    path: path, item: name,
                    "row length \(dimensions[0]) is not a multiple of the \(type.name) block size \(type.blockSize)")
            }
            guard (elementCount / type.blockSize).multipliedReportingOverflow(by: type.bytesPerBlock).overflow == false
            else {
                throw ModelIOError(path: path, item: name, "dimensions \(dimensions) overflow the byte count")
            }
            let rawOffset = try cursor.integer(UInt64.self, "data offset", item: name)
            guard rawOffset <= UInt64(Int.max) else {
                throw ModelIOError(path: path, item: name, "data offset \(rawOffset) lies outside the file")
            }
            guard Int(rawOffset) % alignment == 0 else {
                throw ModelIOError(
                    path: path, item: name,
                    "data offset \(rawOffset) is not a multiple of the alignment \(alignment)")
            }
            index[name] = tensors.count
            tensors.append(GGUFTensorInfo(name: name, dimensions: dimensions, type: type, offset: Int(rawOffset)))
        }
        return (tensors, index)
    }

    /// Checks that every tensor's data lies inside the data section and that no two overlap.
    private static func checkPlacement(of tensors: [GGUFTensorInfo], dataSize: Int, path: String) throws(ModelIOError) {
        for tensor in tensors {
            let (end, overflow) = tensor.offset.addingReportingOverflow(tensor.byteCount)
            guard !overflow, end <= dataSize else {
                throw ModelIOError(
                    path: path, item: tensor.name,
                    "tensor data (offset \(tensor.offset), \(tensor.byteCount) bytes) lies outside the file's data section of \(dataSize) bytes"
                )
            }
        }
        let byStart = tensors.sorted { ($0.offset, $0.byteCount) < ($1.offset, $1.byteCount) }
        for (previous, next) in zip(byStart, byStart.dropFirst())
        where next.offset < previous.offset + previous.byteCount {
            throw ModelIOError(path: path, item: next.name, "tensor data overlaps that of tensor \(previous.name)")
        }
    }
}
