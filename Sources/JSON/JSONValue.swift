/// A parsed JSON value, keeping object member order and the exact text of numbers.
///
/// Used for the safetensors header, `model.safetensors.index.json`, the Hugging Face
/// `config.json` family and `tokenizer.json`. Numbers keep their source text so that a 64-bit
/// offset or an id never passes through a Double.
package enum JSONValue: Equatable, Sendable {
    case null
    case bool(Bool)
    case number(String)
    case string(String)
    case array([JSONValue])
    case object([(key: String, value: JSONValue)])

    package static func == (lhs: JSONValue, rhs: JSONValue) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): true
        case (.bool(let a), .bool(let b)): a == b
        case (.number(let a), .number(let b)): a == b
        case (.string(let a), .string(let b)): a == b
        case (.array(let a), .array(let b)): a == b
        case (.object(let a), .object(let b)):
            a.count == b.count && zip(a, b).allSatisfy { $0.key == $1.key && $0.value == $1.value }
        default: false
        }
    }

    /// A number holding `value` exactly.
    package static func integer(_ value: Int) -> JSONValue { .number(String(value)) }

    /// A number holding `value` in its shortest round-trip form (`null` if it is not finite).
    package static func float(_ value: Float) -> JSONValue { value.isFinite ? .number("\(value)") : .null }

    /// The value of member `key` if this is an object that has it (the last one if the key
    /// repeats, as Python's `json` module decides).
    package subscript(key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        return members.last { $0.key == key }?.value
    }

    /// The integer, if this is a number written without fraction or exponent that fits an `Int`.
    package var int: Int? {
        guard case .number(let text) = self else { return nil }
        return Int(text)
    }

    /// The number as a Double, if this is a number.
    package var double: Double? {
        guard case .number(let text) = self else { return nil }
        return Double(text)
    }

    /// The string, if this is one.
    package var string: String? {
        if case .string(let s) = self { s } else { nil }
    }

    /// The bool, if this is one.
    package var bool: Bool? {
        if case .bool(let b) = self { b } else { nil }
    }

    /// The elements, if this is an array.
    package var array: [JSONValue]? {
        if case .array(let elements) = self { elements } else { nil }
    }

    /// The members in order, if this is an object.
    package var members: [(key: String, value: JSONValue)]? {
        if case .object(let members) = self { members } else { nil }
    }

    /// Whether this is `null`.
    package var isNull: Bool {
        if case .null = self { true } else { false }
    }

    /// The value as compact JSON text, for error messages.
    package var summary: String { String(decoding: JSONWriter.compact(self), as: UTF8.self) }

    /// A short name of the value's kind, for error messages.
    package var kindName: String {
        switch self {
        case .null: "null"
        case .bool: "a bool"
        case .number: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }
}
