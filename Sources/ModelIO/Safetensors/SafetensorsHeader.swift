import JSON

/// The parsed and validated JSON header of a safetensors file.
///
/// Enforces what the reference implementation (huggingface/safetensors) enforces: an 8-byte
/// little-endian length of at most 100,000,000 bytes, a UTF-8 JSON object, an optional
/// `__metadata__` map of strings to strings, known dtypes, and data offsets that, sorted, tile the
/// data section exactly (first tensor at 0, each starting where the previous one ends, each
/// exactly `elements × dtype size` long, the last ending at the end of the file). Duplicate
/// tensor names are rejected too.
struct SafetensorsHeader {
    /// Largest header the reference implementation accepts.
    static let maxHeaderLength = 100_000_000

    /// Tensors in data-offset order.
    let tensors: [SafetensorsTensorInfo]
    /// The `__metadata__` map (empty when absent).
    let metadata: [String: String]
    /// Byte offset of the data section in the file (8 + header length).
    let dataOffset: Int

    /// Parses and validates the header of the file whose bytes are `file`.
    init(file: UnsafeRawBufferPointer, path: String) throws(ModelIOError) {
        guard file.count >= 8 else {
            throw ModelIOError(path: path, "file is \(file.count) bytes, too short for a safetensors header length")
        }
        let declared = file.loadUnaligned(as: UInt64.self).littleEndian
        guard declared <= UInt64(Self.maxHeaderLength) else {
            throw ModelIOError(path: path, "header length \(declared) exceeds the \(Self.maxHeaderLength)-byte limit")
        }
        let headerLength = Int(declared)
        guard headerLength <= file.count - 8 else {
            throw ModelIOError(
                path: path,
                "header length \(headerLength) runs past the end of the \(file.count)-byte file (truncated?)")
        }
        let headerBytes = UnsafeBufferPointer(rebasing: file.bindMemoryIfNeeded()[8..<(8 + headerLength)])
        let json: JSONValue
        do throws(JSONParseError) {
            json = try JSONParser.parse(headerBytes)
        } catch {
            throw ModelIOError(path: path, "header is not valid JSON: \(error.message)")
        }
        guard let members = json.members else {
            throw ModelIOError(path: path, "header is \(json.kindName), not a JSON object")
        }

        var metadata: [String: String] = [:]
        var tensors: [SafetensorsTensorInfo] = []
        var seen = Set<String>()
        for (name, value) in members {
            guard seen.insert(name).inserted else {
                throw ModelIOError(path: path, item: name, "name appears twice in the header")
            }
            if name == "__metadata__" {
                metadata = try Self.parseMetadata(value, path: path)
            } else {
                tensors.append(try Self.parseTensor(name: name, value, path: path))
            }
        }

        tensors.sort {
            ($0.dataRange.lowerBound, $0.dataRange.upperBound) < ($1.dataRange.lowerBound, $1.dataRange.upperBound)
        }
        let dataLength = file.count - 8 - headerLength
        var expectedStart = 0
        for tensor in tensors {
            let range = tensor.dataRange
            if range.lowerBound > expectedStart {
                throw ModelIOError(
                    path: path, item: tensor.name,
                    "data starts at \(range.lowerBound), leaving a gap after byte \(expectedStart) (offsets must tile the data section)"
                )
            }
            if range.lowerBound < expectedStart {
                throw ModelIOError(
                    path: path, item: tensor.name,
                    "data at \(range.lowerBound)..<\(range.upperBound) overlaps the previous tensor, which ends at \(expectedStart)"
                )
            }
            if range.upperBound > dataLength {
                throw ModelIOError(
                    path: path, item: tensor.name,
                    "data ends at \(range.upperBound), past the \(dataLength)-byte data section (truncated?)")
            }
            expectedStart = range.upperBound
        }
        if expectedStart != dataLength {
            throw ModelIOError(
                path: path,
                "tensors cover \(expectedStart) bytes but the data section has \(dataLength) (truncated or trailing data)"
            )
        }
        self.tensors = tensors
        self.metadata = metadata
        self.dataOffset = 8 + headerLength
    }

    private static func parseMetadata(_ value: JSONValue, path: String) throws(ModelIOError) -> [String: String] {
        guard let members = value.members else {
            throw ModelIOError(path: path, item: "__metadata__", "is \(value.kindName), not an object of strings")
        }
        var result: [String: String] = [:]
        for (key, entry) in members {
            guard let text = entry.string else {
                throw ModelIOError(path: path, item: "__metadata__.\(key)", "is \(entry.kindName), not a string")
            }
            guard result.updateValue(text, forKey: key) == nil else {
                throw ModelIOError(path: path, item: "__metadata__.\(key)", "key appears twice")
            }
        }
        return result
    }

    private static func parseTensor(
        name: String, _ value: JSONValue, path: String
    ) throws(ModelIOError) -> SafetensorsTensorInfo {
        guard value.members != nil else {
            throw ModelIOError(path: path, item: name, "entry is \(value.kindName), not an object")
        }
        guard let dtype = value["dtype"]?.string else {
            throw ModelIOError(path: path, item: name, "has no string \"dtype\"")
        }
        guard let elementSize = SafetensorsDType.formatElementSizes[dtype] else {
            throw ModelIOError(path: path, item: name, "unknown dtype \"\(dtype)\"")
        }
        guard let shapeValues = value["shape"]?.array else {
            throw ModelIOError(path: path, item: name, "has no \"shape\" array")
        }
        var shape: [Int] = []
        var elements = 1
        for dimension in shapeValues {
            guard let size = dimension.int, size >= 0 else {
                throw ModelIOError(
                    path: path, item: name, "shape entry \(dimension.summary) is not a non-negative integer")
            }
            let (product, overflow) = elements.multipliedReportingOverflow(by: size)
            guard !overflow else {
                throw ModelIOError(path: path, item: name, "shape \(shapeValues.map(\.summary)) overflows")
            }
            elements = product
            shape.append(size)
        }
        guard let offsets = value["data_offsets"]?.array, offsets.count == 2,
            let start = offsets[0].int, let end = offsets[1].int, start >= 0, end >= start
        else {
            throw ModelIOError(
                path: path, item: name, "\"data_offsets\" is not a pair [start, end] with 0 <= start <= end")
        }
        let (byteCount, overflow) = elements.multipliedReportingOverflow(by: elementSize)
        guard !overflow, end - start == byteCount else {
            throw ModelIOError(
                path: path, item: name,
                "data_offsets span \(end - start) bytes but shape \(shape) of \(dtype) needs \(overflow ? "more than Int.max" : String(byteCount))"
            )
        }
        return SafetensorsTensorInfo(name: name, dtypeName: dtype, shape: shape, dataRange: start..<end)
    }
}

extension UnsafeRawBufferPointer {
    /// The bytes viewed as `UInt8` (raw file bytes are always valid `UInt8`).
    fileprivate func bindMemoryIfNeeded() -> UnsafeBufferPointer<UInt8> {
        guard let base = baseAddress else { return UnsafeBufferPointer(start: nil, count: 0) }
        return UnsafeBufferPointer(start: base.assumingMemoryBound(to: UInt8.self), count: count)
    }
}
