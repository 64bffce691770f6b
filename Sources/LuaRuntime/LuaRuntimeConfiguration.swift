import Foundation

/// Where `print`, `shears.log` and Lua warnings go.
public enum LuaOutputChannel: Sendable, Equatable {
    /// `print(...)`: the recipe's own output (stdout by default).
    case print
    /// `shears.log(...)`: progress messages prefixed with `file:line: ` (stderr by default).
    case log
    /// Lua warnings, such as an error inside a `__gc` metamethod (stderr by default).
    case warning
}

/// Optional budgets for one run of a recipe.
public struct RecipeLimits: Sendable, Equatable {
    /// The Lua heap cap in bytes (`--max-memory`); memory held by Swift objects behind handles is
    /// not counted. Exceeding it stops the recipe with "recipe exceeded the memory limit of 64 MB".
    public var memory: Int?
    /// The wall-clock budget in seconds (`--timeout`), checked every 1000 Lua instructions and
    /// including time spent in Swift functions. Exceeding it stops the recipe with
    /// "recipe exceeded the time limit of 10 s".
    public var time: Double?
    /// The instruction budget (counted in steps of up to 1000 instructions).
    public var instructions: Int?

    /// Creates limits; `nil` means unlimited.
    public init(memory: Int? = nil, time: Double? = nil, instructions: Int? = nil) {
        self.memory = memory
        self.time = time
        self.instructions = instructions
    }

    /// No limits.
    public static let none = RecipeLimits()

    /// Parses a byte count such as `64M`, `512K`, `2G` or `1048576` (binary multiples); nil if invalid.
    public static func byteCount(parsing text: String) -> Int? {
        let multipliers: [Character: Int] = ["K": 1 << 10, "M": 1 << 20, "G": 1 << 30]
        var digits = Substring(text.uppercased())
        if digits.hasSuffix("B") { digits = digits.dropLast() }
        var multiplier = 1
        if let last = digits.last, let value = multipliers[last] {
            multiplier = value
            digits = digits.dropLast()
        }
        guard let count = Int(digits), count > 0 else { return nil }
        let (bytes, overflow) = count.multipliedReportingOverflow(by: multiplier)
        return overflow ? nil : bytes
    }

    /// "recipe exceeded the memory limit of 64 MB".
    var memoryMessage: String { "recipe exceeded the memory limit of \(Self.describe(bytes: memory ?? 0))" }
    /// "recipe exceeded the time limit of 10 s".
    var timeMessage: String { "recipe exceeded the time limit of \(Self.describe(seconds: time ?? 0))" }
    /// "recipe exceeded the instruction limit of 1000000 instructions".
    var instructionMessage: String { "recipe exceeded the instruction limit of \(instructions ?? 0) instructions" }

    private static func describe(bytes: Int) -> String {
        if bytes % (1 << 30) == 0 { return "\(bytes >> 30) GB" }
        if bytes % (1 << 20) == 0 { return "\(bytes >> 20) MB" }
        if bytes % (1 << 10) == 0 { return "\(bytes >> 10) KB" }
        return "\(bytes) bytes"
    }

    private static func describe(seconds: Double) -> String {
        if seconds == seconds.rounded(), abs(seconds) < 1e15 { return "\(Int(seconds)) s" }
        return "\(seconds) s"
    }
}

extension LuaRuntime {
    /// How a ``LuaRuntime`` is set up.
    public struct Configuration {
        /// The global module table recipes use (`shears`); ``LuaRuntime/register(_:in:_:)`` adds to it.
        public var moduleName: String
        /// The value of `<module>.version`.
        public var version: String
        /// Directories `require` searches after the recipe's own directory (e.g. `Scripts/lib`).
        public var libraryDirectories: [String]
        /// Budgets applied to every run.
        public var limits: RecipeLimits
        /// Receives each line of `print`, log and warning output (without the newline).
        public var output: (LuaOutputChannel, String) -> Void

        /// Creates a configuration; output goes to stdout (`print`) and stderr (log, warnings).
        public init(
            moduleName: String = "shears",
            version: String = "0.1.0",
            libraryDirectories: [String] = [],
            limits: RecipeLimits = .none,
            output: @escaping (LuaOutputChannel, String) -> Void = LuaRuntime.writeToStandardStreams
        ) {
            self.moduleName = moduleName
            self.version = version
            self.libraryDirectories = libraryDirectories
            self.limits = limits
            self.output = output
        }
    }

    /// The default output: `print` to stdout, log and warnings to stderr.
    public static func writeToStandardStreams(_ channel: LuaOutputChannel, _ line: String) {
        switch channel {
        case .print:
            print(line)
        case .log:
            FileHandle.standardError.write(Data((line + "\n").utf8))
        case .warning:
            FileHandle.standardError.write(Data(("warning: " + line + "\n").utf8))
        }
    }
}
