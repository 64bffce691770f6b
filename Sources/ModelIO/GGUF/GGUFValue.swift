/// One GGUF metadata value.
///
/// Arrays are homogeneous in the file; `array` keeps the element type so that a value read and
/// written back is byte-identical (an empty array still knows what it is an array of).
public enum GGUFValue: Sendable, Equatable {
    case uint8(UInt8), int8(Int8), uint16(UInt16), int16(Int16)
    case uint32(UInt32), int32(Int32), uint64(UInt64), int64(Int64)
    case float32(Float), float64(Double), bool(Bool), string(String)
    case array(GGUFValueType, [GGUFValue])

    /// The value's type tag.
    public var type: GGUFValueType {
        switch self {
        case .uint8: .uint8
        case .int8: .int8
        case .uint16: .uint16
        case .int16: .int16
        case .uint32: .uint32
        case .int32: .int32
        case .uint64: .uint64
        case .int64: .int64
        case .float32: .float32
        case .float64: .float64
        case .bool: .bool
        case .string: .string
        case .array: .array
        }
    }

    /// The value as an integer, if it is any integer type (or a bool).
    public var int: Int? {
        switch self {
        case .uint8(let v): Int(v)
        case .int8(let v): Int(v)
        case .uint16(let v): Int(v)
        case .int16(let v): Int(v)
        case .uint32(let v): Int(v)
        case .int32(let v): Int(v)
        case .uint64(let v): Int(exactly: v)
        case .int64(let v): Int(v)
        case .bool(let v): v ? 1 : 0
        default: nil
        }
    }

    /// The value as a Double, if it is numeric.
    public var double: Double? {
        switch self {
        case .float32(let v): Double(v)
        case .float64(let v): v
        default: int.map(Double.init)
        }
    }

    /// The string, if the value is one.
    public var string: String? {
        if case .string(let s) = self { s } else { nil }
    }

    /// The bool, if the value is one.
    public var bool: Bool? {
        if case .bool(let b) = self { b } else { nil }
    }

    /// The elements, if the value is an array.
    public var array: [GGUFValue]? {
        if case .array(_, let elements) = self { elements } else { nil }
    }
}

extension GGUFValue {
    /// Equality of the encoded values: floats compare by bit pattern (a NaN equals the same NaN,
    /// 0.0 differs from −0.0) and strings by their UTF-8 bytes, as the bytes in a file do.
    public static func == (lhs: GGUFValue, rhs: GGUFValue) -> Bool {
        switch (lhs, rhs) {
        case let (.uint8(a), .uint8(b)): a == b
        case let (.int8(a), .int8(b)): a == b
        case let (.uint16(a), .uint16(b)): a == b
        case let (.int16(a), .int16(b)): a == b
        case let (.uint32(a), .uint32(b)): a == b
        case let (.int32(a), .int32(b)): a == b
        case let (.uint64(a), .uint64(b)): a == b
        case let (.int64(a), .int64(b)): a == b
        case let (.float32(a), .float32(b)): a.bitPattern == b.bitPattern
        case let (.float64(a), .float64(b)): a.bitPattern == b.bitPattern
        case let (.bool(a), .bool(b)): a == b
        case let (.string(a), .string(b)): a.utf8.elementsEqual(b.utf8)
        case let (.array(typeA, a), .array(typeB, b)): typeA == typeB && a == b
        default: false
        }
    }
}

/// GGUF metadata value type tags, with their numeric ids in the file format.
public enum GGUFValueType: UInt32, Sendable {
    case uint8 = 0, int8 = 1, uint16 = 2, int16 = 3, uint32 = 4, int32 = 5
    case float32 = 6, bool = 7, string = 8, array = 9, uint64 = 10, int64 = 11, float64 = 12
}

extension GGUFValueType {
    /// The fewest bytes a value of this type takes in a file (used to reject impossible counts).
    public var minimumEncodedSize: Int {
        switch self {
        case .uint8, .int8, .bool: 1
        case .uint16, .int16: 2
        case .uint32, .int32, .float32: 4
        case .uint64, .int64, .float64, .string: 8
        case .array: 12
        }
    }
}
