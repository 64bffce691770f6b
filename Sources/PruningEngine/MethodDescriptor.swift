/// A pruning method as the command line and recipes see it: its name, a summary, typed
/// parameters, and how its parameters become steps. `shears prune` flags and `shears.NAME{...}`
/// tables both parse into the same parameters, so they share names, defaults, ranges and errors.
public struct MethodDescriptor: Sendable {
    /// The method's name (`wanda`, the Lua function `shears.wanda`, `shears prune --method wanda`).
    public let name: String
    /// One line saying what it does.
    public let summary: String
    /// Its parameters, in the order descriptions list them.
    public let parameters: [MethodParameter]
    private let make: @Sendable (MethodArguments) throws(PruneError) -> [any PruneStep]

    /// Describes a method whose steps `makeSteps` builds from checked arguments.
    public init(
        name: String, summary: String, parameters: [MethodParameter],
        makeSteps: @escaping @Sendable (MethodArguments) throws(PruneError) -> [any PruneStep]
    ) {
        self.name = name
        self.summary = summary
        self.parameters = parameters
        make = makeSteps
    }

    /// The parameter called `name` (or one of its aliases).
    public func parameter(_ name: String) -> MethodParameter? {
        parameters.first { $0.name == name || $0.aliases.contains(name) }
    }

    /// The parameter called exactly `name` (not an alias).
    ///
    /// - Throws: `MethodArgumentError` naming the method's parameters when there is none.
    public func declared(_ name: String) throws(MethodArgumentError) -> MethodParameter {
        guard let parameter = parameters.first(where: { $0.name == name }) else {
            throw MethodArgumentError(
                parameter: name,
                "is not one of \(self.name)'s parameters ("
                    + parameters.map(\.name).joined(separator: ", ") + ")")
        }
        return parameter
    }

    /// Every name a caller may use: parameter names and aliases.
    public var acceptedNames: Set<String> { Set(parameters.flatMap { [$0.name] + $0.aliases }) }

    /// The arguments of `given` values (keyed by parameter name) with the defaults filled in.
    ///
    /// - Throws: `MethodArgumentError` for an unknown name or a value of the wrong type.
    public func arguments(_ given: [String: MethodValue]) throws(MethodArgumentError) -> MethodArguments {
        var values: [String: MethodValue] = [:]
        for (name, value) in given {
            let parameter = try declared(name)
            guard parameter.type.accepts(value) else {
                throw MethodArgumentError(parameter: name, "must be \(parameter.type.noun), got \(value)")
            }
            values[name] = value
        }
        for parameter in parameters where values[parameter.name] == nil {
            values[parameter.name] = parameter.defaultValue
        }
        return MethodArguments(values: values)
    }

    /// The steps for `arguments`.
    ///
    /// - Throws: `PruneError` from the steps' own checks (a sparsity outside [0, 1), ...).
    public func makeSteps(_ arguments: MethodArguments) throws(PruneError) -> [any PruneStep] {
        try make(arguments)
    }

    /// The provenance text of a call: `name(key=value, ...)` with the parameters each one's
    /// `MethodParameter.Provenance` shows (e.g. `wanda(sparsity=0.5, pattern=2:4)`).
    public func describe(_ arguments: MethodArguments) -> String {
        let shown = parameters.compactMap { parameter -> String? in
            parameter.provenance.text(parameter, arguments).map { "\(parameter.name)=\($0)" }
        }
        return "\(name)(\(shown.joined(separator: ", ")))"
    }
}

/// One typed parameter of a method.
public struct MethodParameter: Sendable {
    /// Which parameters a provenance description shows.
    public enum Provenance: Sendable {
        /// Always (its value or default).
        case always
        /// When its value differs from `defaultValue` (an optional parameter: when given).
        case unlessDefault
        /// As a function of all the arguments decides (nil: left out).
        case custom(@Sendable (MethodArguments) -> String?)

        /// The value shown for `parameter`, or nil.
        func text(_ parameter: MethodParameter, _ arguments: MethodArguments) -> String? {
            let value = arguments.values[parameter.name]
            switch self {
            case .always: return value?.description
            case .unlessDefault: return value == parameter.defaultValue ? nil : value?.description
            case .custom(let text): return text(arguments)
            }
        }
    }

    /// The name in Lua tables and `--param NAME=VALUE`.
    public let name: String
    /// Other names recipes may use (OWL's `M` for `m`).
    public let aliases: [String]
    /// Its type.
    public let type: MethodParameterType
    /// The value when not given; nil: absent unless given.
    public let defaultValue: MethodValue?
    /// The numbers the method accepts, as its steps check them (stated for listings; a test
    /// checks the two agree).
    public let range: MethodParameterRange?
    /// What it is, as a noun phrase ("the fraction of each matrix to prune").
    public let help: String
    /// When provenance descriptions show it.
    public let provenance: Provenance

    /// Declares a parameter.
    public init(
        _ name: String, _ type: MethodParameterType, default defaultValue: MethodValue? = nil,
        range: MethodParameterRange? = nil, aliases: [String] = [], provenance: Provenance = .always, help: String
    ) {
        self.name = name
        self.type = type
        self.defaultValue = defaultValue
        self.range = range
        self.aliases = aliases
        self.provenance = provenance
        self.help = help
    }

    /// Parses `text` (a command-line value) as this parameter's type.
    ///
    /// - Throws: `MethodArgumentError` when `text` is not a value of the type.
    public func parse(_ text: String) throws(MethodArgumentError) -> MethodValue {
        switch type {
        case .number:
            guard let value = Double(text) else {
                throw MethodArgumentError(parameter: name, "must be a number, got '\(text)'")
            }
            return .number(value)
        case .integer:
            guard let value = Int(text) else {
                throw MethodArgumentError(parameter: name, "must be an integer, got '\(text)'")
            }
            return .integer(value)
        case .boolean:
            guard let value = Bool(text) else {
                throw MethodArgumentError(parameter: name, "must be true or false, got '\(text)'")
            }
            return .boolean(value)
        case .choice:
            return try choice(text)
        case .pattern:
            return try pattern(text)
        case .names:
            return .names(text.split(separator: ",").map(String.init))
        case .layerNumbers:
            let values = text.split(separator: ",", omittingEmptySubsequences: false).map { Double($0) }
            guard !values.isEmpty, values.allSatisfy({ $0 != nil }) else {
                throw MethodArgumentError(
                    parameter: name, "must be a number or comma-separated numbers (one per layer), got '\(text)'")
            }
            return values.count == 1 ? .number(values[0]!) : .numbers(values.map { $0! })
        }
    }

    /// `text` as a value of a choice parameter.
    ///
    /// - Throws: `MethodArgumentError` ("must be 'matrix' or 'row', got 'column'") for another string.
    public func choice(_ text: String) throws(MethodArgumentError) -> MethodValue {
        guard case .choice(let choices) = type, choices.contains(text) else {
            throw MethodArgumentError(parameter: name, "must be \(type.noun), got '\(text)'")
        }
        return .string(text)
    }

    /// `text` as a sparsity pattern.
    ///
    /// - Throws: `MethodArgumentError` with the pattern parser's message.
    public func pattern(_ text: String) throws(MethodArgumentError) -> MethodValue {
        do { return .pattern(try SparsityPattern(parsing: text)) } catch {
            throw MethodArgumentError(parameter: name, error.message, .colon)
        }
    }
}
