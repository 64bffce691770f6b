/// The type of a method parameter.
public enum MethodParameterType: Sendable, Equatable {
    /// A real number.
    case number
    /// An integer.
    case integer
    /// true or false.
    case boolean
    /// One of the listed strings.
    case choice([String])
    /// `"unstructured"` or `"N:M"`.
    case pattern
    /// One or more names (a string or a list of strings in Lua, comma-separated on the command line).
    case names
    /// A number, or one number per decoder layer (a list or a function of the layer in Lua,
    /// comma-separated on the command line).
    case layerNumbers

    /// "a number", "'matrix' or 'row'", ...: what a value must be, for errors and listings.
    public var noun: String {
        switch self {
        case .number: "a number"
        case .integer: "an integer"
        case .boolean: "a boolean"
        case .choice(let choices) where choices.count == 2: "'\(choices[0])' or '\(choices[1])'"
        case .choice(let choices): "one of " + choices.map { "'\($0)'" }.joined(separator: ", ")
        case .pattern: "a sparsity pattern (\"unstructured\" or \"N:M\")"
        case .names: "a list of names"
        case .layerNumbers: "a number or one number per layer"
        }
    }

    /// Whether `value` is of this type.
    func accepts(_ value: MethodValue) -> Bool {
        switch (self, value) {
        case (.number, .number), (.integer, .integer), (.boolean, .boolean), (.pattern, .pattern), (.names, .names),
            (.layerNumbers, .number), (.layerNumbers, .numbers):
            true
        case (.choice(let choices), .string(let text)): choices.contains(text)
        default: false
        }
    }
}

/// A value of a method parameter.
public enum MethodValue: Sendable, Equatable, CustomStringConvertible {
    /// A real number.
    case number(Double)
    /// An integer.
    case integer(Int)
    /// A boolean.
    case boolean(Bool)
    /// A string (a choice).
    case string(String)
    /// A sparsity pattern.
    case pattern(SparsityPattern)
    /// Names.
    case names([String])
    /// One number per decoder layer.
    case numbers([Double])

    /// As provenance shows it: Swift's number formatting (`5.0`, `0.08`), names joined by `+`.
    public var description: String {
        switch self {
        case .number(let value): "\(value)"
        case .integer(let value): "\(value)"
        case .boolean(let value): "\(value)"
        case .string(let value): value
        case .pattern(let value): value.description
        case .names(let value): value.joined(separator: "+")
        case .numbers(let value): "{" + value.map { "\($0)" }.joined(separator: ",") + "}"
        }
    }
}

/// The numbers a parameter accepts: a lower and an upper bound, each inclusive or not.
public struct MethodParameterRange: Sendable, Equatable, CustomStringConvertible {
    /// The lower bound and whether it is included.
    public var lower: Double, includesLower: Bool
    /// The upper bound (nil: none) and whether it is included.
    public var upper: Double?, includesUpper: Bool

    /// `[lower, upper)` by default; `upper` nil for no upper bound.
    public init(_ lower: Double, includesLower: Bool = true, _ upper: Double? = nil, includesUpper: Bool = false) {
        self.lower = lower
        self.includesLower = includesLower
        self.upper = upper
        self.includesUpper = includesUpper
    }

    /// `[0, 1)`, `(0, ∞)`, ...
    public var description: String {
        let upperText = upper.map { Self.format($0) } ?? "∞"
        return (includesLower ? "[" : "(") + Self.format(lower) + ", " + upperText
            + (includesUpper && upper != nil ? "]" : ")")
    }

    private static func format(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : "\(value)"
    }
}

/// A method's parameter values, defaults filled in, as `MethodDescriptor.makeSteps` reads them.
public struct MethodArguments: Sendable {
    /// Every parameter's value (nil: an optional parameter not given).
    public let values: [String: MethodValue]

    /// The number parameter `name`, if set.
    public func number(_ name: String) -> Double? {
        if case .number(let value) = values[name] { value } else { nil }
    }
    /// The integer parameter `name`, if set.
    public func integer(_ name: String) -> Int? {
        if case .integer(let value) = values[name] { value } else { nil }
    }
    /// The boolean parameter `name`, if set.
    public func boolean(_ name: String) -> Bool? {
        if case .boolean(let value) = values[name] { value } else { nil }
    }
    /// The choice parameter `name`, if set.
    public func string(_ name: String) -> String? {
        if case .string(let value) = values[name] { value } else { nil }
    }
    /// The pattern parameter `name`, if set.
    public func pattern(_ name: String) -> SparsityPattern? {
        if case .pattern(let value) = values[name] { value } else { nil }
    }
    /// The per-layer numbers of parameter `name`, if given as a list.
    public func numbers(_ name: String) -> [Double]? {
        if case .numbers(let value) = values[name] { value } else { nil }
    }
    /// The names parameter `name`, if set.
    public func names(_ name: String) -> [String]? {
        if case .names(let value) = values[name] { value } else { nil }
    }
}

/// A parameter value that does not fit its parameter: unknown, of the wrong type, not one of the
/// choices, or not a pattern. Front ends name the parameter their way (`field 'scope'` in Lua,
/// `--param scope` on the command line) and append `problem`.
public struct MethodArgumentError: Error, Sendable, Equatable, CustomStringConvertible {
    /// How `problem` attaches to the parameter's label.
    public enum Joint: Sendable, Equatable {
        /// "field 'scope' must be ..." (a predicate).
        case predicate
        /// "field 'pattern': unknown sparsity pattern ..." (an explanation).
        case colon
    }

    /// The parameter's name as given.
    public var parameter: String
    /// What is wrong.
    public var problem: String
    /// How it reads after the label.
    public var joint: Joint

    /// An error about `parameter`.
    public init(parameter: String, _ problem: String, _ joint: Joint = .predicate) {
        self.parameter = parameter
        self.problem = problem
        self.joint = joint
    }

    /// The message with the parameter labelled by `label` (e.g. `{ "field '\($0)'" }`).
    public func message(label: (String) -> String) -> String {
        label(parameter) + (joint == .colon ? ": " : " ") + problem
    }

    /// The message with the parameter labelled `parameter 'NAME'`.
    public var description: String { message { "parameter '\($0)'" } }
}
