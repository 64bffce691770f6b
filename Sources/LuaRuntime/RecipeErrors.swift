/// A recipe (or a chunk given to ``LuaRuntime/run(source:name:arguments:)``) could not be loaded:
/// unreadable file or syntax error. The CLI prints `description` and exits 2.
public struct RecipeLoadError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The chunk's display name, e.g. `recipe.lua`.
    public var file: String
    /// The line of a syntax error, if the message has one.
    public var line: Int?
    /// What is wrong, without the `file:line: ` prefix.
    public var message: String

    /// Creates a load error.
    public init(file: String, line: Int?, message: String) {
        self.file = file
        self.line = line
        self.message = message
    }

    /// Parses Lua's `file:LINE: message` syntax-error text; other texts become a line-less error.
    init(file: String, luaMessage: String) {
        if let split = Self.locationPrefix(of: luaMessage) {
            self.init(file: split.file, line: split.line, message: split.message)
        } else {
            self.init(file: file, line: nil, message: luaMessage)
        }
    }

    /// `file:LINE: message` (Lua's form), or `file: message` without a line.
    public var description: String {
        if let line { "\(file):\(line): \(message)" } else { "\(file): \(message)" }
    }

    /// Splits `source:LINE: rest` at the first `:digits: ` separator.
    private static func locationPrefix(of text: String) -> (file: String, line: Int, message: String)? {
        var index = text.startIndex
        while let colon = text[index...].firstIndex(of: ":") {
            let digitsStart = text.index(after: colon)
            let digitsEnd = text[digitsStart...].firstIndex(where: { !$0.isASCII || !$0.isNumber }) ?? text.endIndex
            if digitsEnd > digitsStart, text[digitsEnd...].hasPrefix(": "),
                let line = Int(text[digitsStart..<digitsEnd])
            {
                return (String(text[..<colon]), line, String(text[text.index(digitsEnd, offsetBy: 2)...]))
            }
            index = digitsStart
        }
        return nil
    }
}

/// Which runtime limit stopped a recipe.
public enum RecipeLimit: Sendable, Equatable {
    /// The memory cap (`--max-memory`).
    case memory
    /// The wall-clock budget (`--timeout`).
    case time
    /// The instruction budget.
    case instructions
}

/// A recipe raised an error (or hit a limit) while running. The CLI prints `description` and exits 1.
public struct RecipeRuntimeError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The error message, usually `file:line: message`.
    public var message: String
    /// The Lua stack when the error was raised, innermost first (empty after a memory error).
    public var traceback: [LuaStackFrame]
    /// The limit that stopped the recipe, if that is why it failed.
    public var limit: RecipeLimit?

    /// Creates a runtime error.
    public init(message: String, traceback: [LuaStackFrame] = [], limit: RecipeLimit? = nil) {
        self.message = message
        self.traceback = traceback
        self.limit = limit
    }

    /// The message followed by a Lua-style `stack traceback:` with one `file:line: in ...` per frame.
    public var description: String {
        guard !traceback.isEmpty else { return message }
        return ([message, "stack traceback:"] + traceback.map { "\t\($0)" }).joined(separator: "\n")
    }
}

/// One frame of a Lua traceback.
public struct LuaStackFrame: CustomStringConvertible, Sendable, Equatable {
    /// The chunk (`recipe.lua`, `lib/util.lua`), `[C]` for a native function, or `...` for skipped levels.
    public var source: String
    /// The current line, if the frame is Lua code.
    public var line: Int?
    /// What ran there, as Lua names it: `local 'f'`, `method 'prune'`, `main chunk`, ...
    public var context: String

    /// Creates a frame.
    public init(source: String, line: Int?, context: String) {
        self.source = source
        self.line = line
        self.context = context
    }

    /// `source:line:` (or `source:`) followed by ` in context`, as in Lua's tracebacks.
    public var description: String {
        if source == "..." { return "...\t\(context)" }
        let location = if let line { "\(source):\(line):" } else { "\(source):" }
        return "\(location) in \(context)"
    }
}
