/// A parsed JSON document, for reading `tokenizer.json` sections whose shape varies.
enum JSONValue: Equatable {
    case null, bool(Bool), number(Double), string(String), array([JSONValue]), object([String: JSONValue])

    /// The member `key` of an object (nil for anything else or a missing key).
    subscript(key: String) -> JSONValue? {
        if case .object(let members) = self { members[key] } else { nil }
    }

    /// The string, if this is one.
    var string: String? { if case .string(let value) = self { value } else { nil } }
    /// The bool, if this is one.
    var bool: Bool? { if case .bool(let value) = self { value } else { nil } }
    /// The elements, if this is an array.
    var array: [JSONValue]? { if case .array(let value) = self { value } else { nil } }
    /// The members, if this is an object.
    var object: [String: JSONValue]? { if case .object(let value) = self { value } else { nil } }
    /// The number as an exact integer, if it is one.
    var int: Int? { if case .number(let value) = self { Int(exactly: value) } else { nil } }
    /// Whether this is JSON null.
    var isNull: Bool { self == .null }

    /// A compact rendering for error messages.
    var summary: String {
        switch self {
        case .null: "null"
        case .bool(let value): "\(value)"
        case .number(let value): "\(value)"
        case .string(let value): JSONText.quoted(value)
        case .array(let values): "[" + values.map(\.summary).joined(separator: ", ") + "]"
        case .object(let members):
            "{" + members.keys.sorted().map { "\($0): \(members[$0]!.summary)" }.joined(separator: ", ") + "}"
        }
    }
}
