/// A value a Swift function returns to Lua.
///
/// Swift functions registered with ``LuaRuntime`` return an array of these; the runtime pushes
/// them after the function has returned. Literals work where the type is known:
///
/// ```swift
/// return [.handle(model, as: modelType), "loaded", 3, ["layers": 30, "name": "SmolLM2"]]
/// ```
public enum LuaValue {
    /// `nil`.
    case `nil`
    /// A boolean.
    case boolean(Bool)
    /// An integer (Lua's 64-bit integer subtype).
    case integer(Int)
    /// A float.
    case number(Double)
    /// A string (its UTF-8 bytes).
    case string(String)
    /// A sequence: a table with keys 1...n.
    case array([LuaValue])
    /// A table with string keys.
    case table([String: LuaValue])
    /// A new handle (userdata) for a Swift object; see ``handle(_:as:dependingOn:)``.
    case newHandle(LuaNewHandle)
    /// A function the runtime already knows (a handle type's method, returned by `__index`).
    case registeredFunction(LuaFunctionReference)

    /// A new handle of `type` for `object`.
    ///
    /// - Parameters:
    ///   - object: The Swift object the handle keeps alive until it is closed or collected.
    ///   - type: The registered handle type (its metatable).
    ///   - owner: The argument index of a handle this one depends on (for example the model a
    ///     tensor belongs to). The owner stays alive while this handle is reachable, and closing the
    ///     owner expires this handle, which then raises "attempt to use an expired ...".
    public static func handle<Object: AnyObject>(
        _ object: Object, as type: LuaHandleType<Object>, dependingOn owner: Int? = nil
    )
        -> LuaValue
    {
        .newHandle(LuaNewHandle(object: object, typeName: type.name, ownerArgument: owner))
    }
}

/// A function registered with the runtime, by id (see ``LuaValue/registeredFunction(_:)``).
public struct LuaFunctionReference: Sendable {
    /// The id the C trampoline dispatches on.
    let id: Int64
}

/// The payload of ``LuaValue/newHandle(_:)``: build it with ``LuaValue/handle(_:as:dependingOn:)``.
public struct LuaNewHandle {
    /// The Swift object to wrap.
    let object: AnyObject
    /// The metatable name of the handle type.
    let typeName: String
    /// The argument index of the owner handle, if any.
    let ownerArgument: Int?
}

extension LuaValue: ExpressibleByNilLiteral, ExpressibleByBooleanLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByFloatLiteral, ExpressibleByStringLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral
{
    /// `nil`.
    public init(nilLiteral: ()) { self = .nil }
    /// A boolean literal.
    public init(booleanLiteral value: Bool) { self = .boolean(value) }
    /// An integer literal.
    public init(integerLiteral value: Int) { self = .integer(value) }
    /// A float literal.
    public init(floatLiteral value: Double) { self = .number(value) }
    /// A string literal.
    public init(stringLiteral value: String) { self = .string(value) }
    /// An array literal (a Lua sequence).
    public init(arrayLiteral elements: LuaValue...) { self = .array(elements) }
    /// A dictionary literal (a Lua table with string keys).
    public init(dictionaryLiteral elements: (String, LuaValue)...) {
        self = .table(Dictionary(elements, uniquingKeysWith: { _, last in last }))
    }
}
