/// A reader of the protobuf wire format: enough to walk the fields of a message (varints,
/// fixed 32/64-bit values, length-delimited bytes), with errors for truncated or malformed data.
struct ProtobufReader {
    /// A field's value as stored on the wire.
    enum Value {
        case varint(UInt64)
        case fixed64(UInt64)
        case bytes(ArraySlice<UInt8>)
        case fixed32(UInt32)
    }

    private let data: ArraySlice<UInt8>
    private var position: Int

    /// A reader over the bytes of one message.
    init(_ data: ArraySlice<UInt8>) {
        self.data = data
        position = data.startIndex
    }

    /// The next field (number and value), or nil at the end of the message.
    mutating func next() throws(TokenizerError) -> (field: Int, value: Value)? {
        guard position < data.endIndex else { return nil }
        let key = try varint()
        let field = Int(key >> 3)
        guard field > 0 else { throw TokenizerError("field number 0 at byte \(position - data.startIndex)") }
        switch key & 7 {
        case 0: return (field, .varint(try varint()))
        case 1: return (field, .fixed64(try fixed(8)))
        case 2:
            let length = try varint()
            guard length <= UInt64(data.endIndex - position) else {
                throw TokenizerError("field \(field) is \(length) bytes long but the data ends sooner")
            }
            let start = position
            position += Int(length)
            return (field, .bytes(data[start..<position]))
        case 5: return (field, .fixed32(UInt32(try fixed(4))))
        case let wireType: throw TokenizerError("field \(field) has wire type \(wireType), which is not valid")
        }
    }

    private mutating func varint() throws(TokenizerError) -> UInt64 {
        var result: UInt64 = 0, shift: UInt64 = 0
        while position < data.endIndex, shift < 64 {
            let byte = data[position]
            position += 1
            result |= UInt64(byte & 0x7F) << shift
            if byte < 0x80 { return result }
            shift += 7
        }
        throw TokenizerError("a varint is cut off or longer than 10 bytes")
    }

    private mutating func fixed(_ count: Int) throws(TokenizerError) -> UInt64 {
        guard data.endIndex - position >= count else { throw TokenizerError("a fixed-width value is cut off") }
        var result: UInt64 = 0
        for index in 0..<count { result |= UInt64(data[position + index]) << (8 * UInt64(index)) }
        position += count
        return result
    }
}

extension ProtobufReader.Value {
    /// The value as a varint (bools, enums, int32 — negative int32 values are 10-byte varints).
    var integer: Int64? { if case .varint(let value) = self { Int64(bitPattern: value) } else { nil } }
    /// The value as a float.
    var float: Float? { if case .fixed32(let bits) = self { Float(bitPattern: bits) } else { nil } }
    /// The value as length-delimited bytes.
    var bytes: ArraySlice<UInt8>? { if case .bytes(let bytes) = self { bytes } else { nil } }
}
