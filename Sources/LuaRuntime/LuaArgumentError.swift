/// Thrown by a Swift function to raise Lua's "bad argument #n to 'f' (detail)" error.
///
/// The runtime lets Lua build the message, so the function name and the numbering follow Lua's
/// own rules (for a method call `m:f(x)`, argument 2 is reported as #1, and a bad argument 1 as
/// "calling 'f' on bad self"). The ``LuaCall`` readers throw this error for you.
public struct LuaArgumentError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The stack index of the argument (1 is the first argument, or `self` for a method).
    public var argument: Int
    /// The text inside the parentheses, e.g. "string expected, got nil".
    public var detail: String

    /// Creates an argument error for `argument` with `detail`.
    public init(argument: Int, _ detail: String) {
        self.argument = argument
        self.detail = detail
    }

    /// `bad argument #n (detail)` (Lua adds the function name when it raises the error).
    public var description: String { "bad argument #\(argument) (\(detail))" }
}

/// An error with a plain message, raised in the script as `chunk:line: message`.
///
/// Any Swift error thrown by a registered function is raised in Lua with its description; this
/// type is a convenience for messages that have no better error type.
public struct LuaScriptError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The message.
    public var message: String

    /// Creates an error with `message`.
    public init(_ message: String) { self.message = message }

    /// The message.
    public var description: String { message }
}
