/// One GGUF metadata value.
///
/// Arrays are homogeneous in the file; `array` keeps the element type so that a value read and
/// written back is byte-identical (an empty array still knows what it is an array of).
public enum GGUFValue: Sendable, Equatable {
    case uint8(UInt8)
    case int8(Int8)
    case uint16(UInt16)
    case int16(Int16)
    case uint32(UInt32)
    case int32(Int32)
    case uint64(UInt64)
    case int64(Int64)
    case float32(Float)
    case float64(Double)
    case bool(Bool)
    case string(String)
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
        case (.uint8(let a), .uint8(let b)): a == b
        case (.int8(let a), .int8(let b)): a == b
        case (.uint16(let a), .uint16(let b)): a == b
        case (.int16(let a), .int16(let b)): a == b
        case (.uint32(let a), .uint32(let b)): a == b
        case (.int32(let a), .int32(let b)): a == b
        case (.uint64(let a), .uint64(let b)): a == b
        case (.int64(let a), .int64(let b)): a == b
        case (.float32(let a), .float32(let b)): a.bitPattern == b.bitPattern
        case (.float64(let a), .float64(let b)): a.bitPattern == b.bitPattern
        case (.bool(let a), .bool(let b)): a == b
        case (.string(let a), .string(let b)): a.utf8.elementsEqual(b.utf8)
        case (.array(let typeA, let a), .array(let typeB, let b)): typeA == typeB && a == b
        default: false
        }
    }
}

/// GGUF metadata value type tags, with their numeric ids in the file format.
public enum GGUFValueType: UInt32, Sendable {
    case uint8 = 0
    case int8 = 1
    case uint16 = 2
    case int16 = 3
    case uint32 = 4
    case int32 = 5
    case float32 = 6
    case bool = 7
    case string = 8
    case array = 9
    case uint64 = 10
    case int64 = 11
    case float64 = 12
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
