/// A bounds-checked little-endian reader over the bytes of a GGUF file.
///
/// Every read checks that the bytes exist first, so a truncated or lying file yields a
/// `ModelIOError` naming the item being read, never an out-of-bounds access.
struct GGUFByteCursor {
    /// The whole file.
    let bytes: UnsafeRawBufferPointer
    /// The file's path, for error messages.
    let path: String
    /// Offset of the next byte to read.
    private(set) var position = 0

    init(bytes: UnsafeRawBufferPointer, path: String) {
        self.bytes = bytes
        self.path = path
    }

    /// Bytes left after `position`.
    var remaining: Int { bytes.count - position }

    /// Throws unless `count` more bytes are available for `what` (belonging to `item`).
    func require(
        _ count: Int, for what: @autoclosure () -> String, item: @autoclosure () -> String?
    ) throws(ModelIOError) {
        guard count <= remaining else {
            throw ModelIOError(
                path: path, item: item(),
                "file is truncated: \(what()) needs \(count) bytes at offset \(position) but only \(remaining) remain")
        }
    }

    /// Reads one little-endian integer.
    mutating func integer<T: FixedWidthInteger>(
        _: T.Type, _ what: @autoclosure () -> String, item: @autoclosure () -> String?
    ) throws(ModelIOError) -> T {
        let size = MemoryLayout<T>.size
        try require(size, for: what(), item: item())
        let value = T(littleEndian: bytes.loadUnaligned(fromByteOffset: position, as: T.self))
        position += size
        return value
    }

    /// Reads a count or length stored as uint64 and checks that `minimumElementSize` bytes per
    /// element could still follow, so that no caller allocates from an impossible count.
    mutating func count(
        _ what: @autoclosure () -> String, item: @autoclosure () -> String?, minimumElementSize: Int
    ) throws(ModelIOError) -> Int {
        let raw = try integer(UInt64.self, what(), item: item())
        guard raw <= UInt64(remaining / max(minimumElementSize, 1)) else {
            throw ModelIOError(
                path: path, item: item(),
                "\(what()) \(raw) exceeds what the remaining \(remaining) bytes of the file can hold")
        }
        return Int(raw)
    }

    /// Reads a GGUF string (uint64 byte length, then UTF-8 bytes without terminator).
    mutating func string(
        _ what: @autoclosure () -> String, item: @autoclosure () -> String?
    ) throws(ModelIOError) -> String {
        let length = try count("length of the \(what())", item: item(), minimumElementSize: 1)
        let slice = UnsafeRawBufferPointer(rebasing: bytes[position..<(position + length)])
        guard let text = String(validating: slice, as: UTF8.self) else {
            throw ModelIOError(path: path, item: item(), "the \(what()) at offset \(position) is not valid UTF-8")
        }
        position += length
        return text
    }

    /// Reads one metadata value of type `type`; `item` is the key it belongs to.
    mutating func value(of type: GGUFValueType, key item: String, depth: Int = 0) throws(ModelIOError) -> GGUFValue {
        switch type {
        case .uint8: return .uint8(try integer(UInt8.self, "uint8 value", item: item))
        case .int8: return .int8(try integer(Int8.self, "int8 value", item: item))
        case .uint16: return .uint16(try integer(UInt16.self, "uint16 value", item: item))
        case .int16: return .int16(try integer(Int16.self, "int16 value", item: item))
        case .uint32: return .uint32(try integer(UInt32.self, "uint32 value", item: item))
        case .int32: return .int32(try integer(Int32.self, "int32 value", item: item))
        case .uint64: return .uint64(try integer(UInt64.self, "uint64 value", item: item))
        case .int64: return .int64(try integer(Int64.self, "int64 value", item: item))
        case .float32: return .float32(Float(bitPattern: try integer(UInt32.self, "float32 value", item: item)))
        case .float64: return .float64(Double(bitPattern: try integer(UInt64.self, "float64 value", item: item)))
        case .bool:
            let byte = try integer(UInt8.self, "bool value", item: item)
            guard byte <= 1 else { throw ModelIOError(path: path, item: item, "bool value \(byte) is neither 0 nor 1") }
            return .bool(byte == 1)
        case .string: return .string(try string("string value", item: item))
        case .array:
            guard depth < GGUFFormat.maxArrayNesting else {
                throw ModelIOError(
                    path: path, item: item,
                    "arrays nested deeper than \(GGUFFormat.maxArrayNesting) levels")
            }
            let elementType = try valueType("array element type", key: item)
            let count = try count("array element count", item: item, minimumElementSize: elementType.minimumEncodedSize)
            var elements: [GGUFValue] = []
            elements.reserveCapacity(count)
            for _ in 0..<count { elements.append(try value(of: elementType, key: item, depth: depth + 1)) }
            return .array(elementType, elements)
        }
    }

    /// Reads a uint32 value-type tag and checks that it is known.
    mutating func valueType(_ what: String, key item: String) throws(ModelIOError) -> GGUFValueType {
        let raw = try integer(UInt32.self, what, item: item)
        guard let type = GGUFValueType(rawValue: raw) else {
            throw ModelIOError(path: path, item: item, "unknown metadata value type \(raw) (\(what))")
        }
        return type
    }
}
