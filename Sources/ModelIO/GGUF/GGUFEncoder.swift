/// Serialises GGUF header structures (strings, metadata values, tensor infos) little-endian into
/// a byte array.
struct GGUFEncoder {
    /// The bytes produced so far.
    private(set) var bytes: [UInt8] = []
    /// The destination path, for error messages.
    let path: String

    init(path: String) { self.path = path }

    /// Appends one little-endian integer.
    mutating func integer<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    /// Appends bytes as they are.
    mutating func raw(_ data: [UInt8]) {
        bytes.append(contentsOf: data)
    }

    /// Appends a GGUF string (uint64 length, UTF-8 bytes).
    mutating func string(_ text: String) {
        let utf8 = Array(text.utf8)
        integer(UInt64(utf8.count))
        bytes.append(contentsOf: utf8)
    }

    /// Appends zero bytes up to the next multiple of `alignment`.
    mutating func pad(to alignment: Int) {
        bytes.append(contentsOf: repeatElement(0, count: (alignment - bytes.count % alignment) % alignment))
    }

    /// Appends a metadata value without its type tag; `key` names it in errors.
    mutating func value(_ value: GGUFValue, key: String) throws(ModelIOError) {
        switch value {
        case .uint8(let v): integer(v)
        case .int8(let v): integer(v)
        case .uint16(let v): integer(v)
        case .int16(let v): integer(v)
        case .uint32(let v): integer(v)
        case .int32(let v): integer(v)
        case .uint64(let v): integer(v)
        case .int64(let v): integer(v)
        case .float32(let v): integer(v.bitPattern)
        case .float64(let v): integer(v.bitPattern)
        case .bool(let v): integer(UInt8(v ? 1 : 0))
        case .string(let v): string(v)
        case .array(let elementType, let elements):
            integer(elementType.rawValue)
            integer(UInt64(elements.count))
            for element in elements {
                guard element.type == elementType else {
                    throw ModelIOError(
                        path: path, item: key,
                        "array of \(elementType) holds an element of type \(element.type)")
                }
                try self.value(element, key: key)
            }
        }
    }

    /// Appends one metadata entry: key, type tag, value.
    mutating func entry(key: String, value: GGUFValue) throws(ModelIOError) {
        string(key)
        integer(value.type.rawValue)
        try self.value(value, key: key)
    }

    /// Appends one tensor-table entry.
    mutating func tensorInfo(_ info: GGUFTensorInfo) {
        string(info.name)
        integer(UInt32(info.dimensions.count))
        for dimension in info.dimensions { integer(UInt64(dimension)) }
        integer(info.type.rawValue)
        integer(UInt64(info.offset))
    }
}
