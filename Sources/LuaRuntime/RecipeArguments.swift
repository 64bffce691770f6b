/// The command-line arguments of a recipe: `key=value` pairs and the extras after `--`.
///
/// In the recipe they are `shears.args`: the pairs as string fields (`shears.args.seqlen`), the
/// extras as its sequence (`shears.args[1]`), and helpers that convert with defaults:
///
/// ```lua
/// local seqlen = shears.args:integer("seqlen", 512)   -- error if seqlen=abc
/// local quick  = shears.args:boolean("quick", false)  -- true/false, yes/no, on/off, 1/0
/// local lr     = shears.args:number("lr")              -- required: error if missing
/// local name   = shears.args:string("name", "out")
/// ```
///
/// The helper names (``reservedNames``) cannot be used as keys, so a pair never hides a helper.
public struct RecipeArguments: Sendable, Equatable {
    /// The `key=value` pairs.
    public private(set) var named: [String: String]
    /// The extra arguments after `--`, in order.
    public private(set) var positional: [String]

    /// Keys that would shadow the helper methods of `shears.args`.
    public static let reservedNames: Set<String> = ["number", "integer", "boolean", "string"]

    /// No arguments.
    public init() {
        named = [:]
        positional = []
    }

    /// Creates arguments from pairs and extras.
    ///
    /// - Throws: ``RecipeArgumentError`` for an invalid or reserved key.
    public init(named: [String: String], positional: [String] = []) throws(RecipeArgumentError) {
        for key in named.keys.sorted() { try Self.validate(key: key) }
        self.named = named
        self.positional = positional
    }

    /// Parses command-line words: `key=value` pairs, then optionally `--` and extra arguments.
    ///
    /// - Throws: ``RecipeArgumentError`` for a word without `=` before `--`, an invalid or
    ///   reserved key, or a key given twice.
    public init(parsing words: [String]) throws(RecipeArgumentError) {
        var named: [String: String] = [:]
        var positional: [String] = []
        var afterSeparator = false
        for word in words {
            if afterSeparator {
                positional.append(word)
            } else if word == "--" {
                afterSeparator = true
            } else if let equals = word.firstIndex(of: "=") {
                let key = String(word[..<equals])
                try Self.validate(key: key)
                guard named[key] == nil else { throw RecipeArgumentError("argument '\(key)' is given twice") }
                named[key] = String(word[word.index(after: equals)...])
            } else {
                throw RecipeArgumentError("expected key=value, got '\(word)' (put other arguments after --)")
            }
        }
        try self.init(named: named, positional: positional)
    }

    private static func validate(key: String) throws(RecipeArgumentError) {
        let allowed = key.unicodeScalars.allSatisfy {
            $0.properties.isAlphabetic || ("0"..."9").contains($0) || "_-.".unicodeScalars.contains($0)
        }
        guard !key.isEmpty, allowed else {
            throw RecipeArgumentError("invalid argument name '\(key)' (use letters, digits, '_', '-' and '.')")
        }
        guard !reservedNames.contains(key) else {
            throw RecipeArgumentError("argument name '\(key)' is reserved (it names a helper of shears.args)")
        }
    }
}

/// A malformed recipe argument on the command line (a usage error).
public struct RecipeArgumentError: Error, CustomStringConvertible, Sendable, Equatable {
    /// What is wrong, in one sentence.
    public var message: String

    /// Creates an error with `message`.
    public init(_ message: String) { self.message = message }

    /// The message.
    public var description: String { message }
}
