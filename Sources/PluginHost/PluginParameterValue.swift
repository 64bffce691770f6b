/// A parameter value as a recipe gives it or a declaration defaults it.
public enum PluginParameterValue: Sendable, Equatable, CustomStringConvertible {
    /// A number (Lua numbers arrive as this, integral or not).
    case number(Double)
    /// A 64-bit integer.
    case integer(Int64)
    /// A boolean.
    case boolean(Bool)
    /// A UTF-8 string.
    case string(String)

    /// The value as written in a recipe (`0.5`, `3`, `true`, `"text"`).
    public var description: String {
        switch self {
        case .number(let value): "\(value)"
        case .integer(let value): "\(value)"
        case .boolean(let value): value ? "true" : "false"
        case .string(let value): "\"\(value)\""
        }
    }

    /// "a number", "an integer", "a boolean" or "a string", for messages.
    var kindName: String {
        switch self {
        case .number: "a number"
        case .integer: "an integer"
        case .boolean: "a boolean"
        case .string: "a string"
        }
    }
}
