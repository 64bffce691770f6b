import BuiltinMethods
import LuaRuntime
import PruningEngine

extension ShearsModule {
    /// Registers one function per built-in of `MethodRegistry` (`shears.magnitude`, `shears.wanda`,
    /// `shears.sparsegpt`, `shears.ria`, `shears.owl`, `shears.dsnot`, `shears.reconstruct`): each
    /// takes an optional table of the descriptor's parameters and returns a `shears.Step`. A
    /// per-layer parameter given as a function (`ratio = function(layer, layers) ... end`) is
    /// called once per layer when `shears.prune` knows the model; the other checks run now.
    func installMethods(into runtime: LuaRuntime) {
        for descriptor in MethodRegistry.builtins {
            runtime.register(descriptor.name) { (call: LuaCall) throws -> [LuaValue] in
                let options = try call.optionalTable(1)
                let (given, functions) = try Self.given(descriptor, options)
                guard !functions.isEmpty else {
                    let arguments = try Self.arguments(descriptor, given)
                    return [.handle(try Self.recipe(descriptor, arguments), as: RecipeHandles.step)]
                }
                // Checked now with a placeholder list, made with the function's values later.
                var placeholder = given
                for (name, _) in functions { placeholder[name] = .numbers([0]) }
                let unresolved = try Self.arguments(descriptor, placeholder)
                _ = try Self.recipe(descriptor, unresolved)
                let shown = descriptor.describe(unresolved).replacingOccurrences(of: "{0.0}", with: "function")
                let recipe = PruneRecipe(steps: [], description: shown) { call, layers in
                    var values = given
                    for (name, function) in functions {
                        values[name] = .numbers(
                            try Self.layerNumbers(layers) { layer in
                                LuaScriptError(
                                    "\(descriptor.name){ \(name) = function }: the function must return a number (the \(name) of layer \(layer))"
                                )
                            } value: { layer in
                                try call.callFunctionForNumber(function, [.integer(layer), .integer(layers)])
                            })
                    }
                    // Raised by shears.prune: an error of the step's values, not of prune's arguments.
                    do { return try Self.recipe(descriptor, try Self.arguments(descriptor, values)) } catch let error
                        as LuaArgumentError
                    {
                        throw LuaScriptError(
                            "\(descriptor.name){ \(Self.names(functions)) = function }: \(error.detail)")
                    }
                }
                return [.handle(recipe, as: RecipeHandles.step)]
            }
        }
    }

    /// The recipe of `arguments`; the steps' own refusals reported against the options table.
    private static func recipe(_ descriptor: MethodDescriptor, _ arguments: MethodArguments) throws -> PruneRecipe {
        do throws(PruneError) {
            return PruneRecipe(steps: try descriptor.makeSteps(arguments), description: descriptor.describe(arguments))
        } catch {
            throw LuaArgumentError(argument: 1, error.message)
        }
    }

    /// The parameters given as functions, as `ratio` or `a, b`.
    private static func names(_ functions: [(String, LuaKeptFunction)]) -> String {
        functions.map(\.0).joined(separator: ", ")
    }

    /// The values a recipe's options table gives (nil: none), read with the table's own type
    /// checks, and the per-layer parameters given as functions.
    private static func given(
        _ descriptor: MethodDescriptor, _ options: LuaTableArgument?
    ) throws -> ([String: MethodValue], [(String, LuaKeptFunction)]) {
        try options?.checkFields(allowed: descriptor.acceptedNames)
        var given: [String: MethodValue] = [:], functions: [(String, LuaKeptFunction)] = []
        do {
            for parameter in descriptor.parameters {
                guard let options, let field = try field(parameter, options) else { continue }
                if parameter.type == .layerNumbers, options.typeName(of: field) == "function" {
                    functions.append((parameter.name, try options.keptFunction(field)!))
                } else if let value = try value(parameter, field, options) {
                    given[parameter.name] = value
                }
            }
        } catch let error as MethodArgumentError {
            throw LuaArgumentError(argument: 1, error.message { "field '\($0)'" })
        }
        return (given, functions)
    }

    /// The descriptor's arguments from `given` with the defaults filled in.
    private static func arguments(
        _ descriptor: MethodDescriptor, _ given: [String: MethodValue]
    ) throws -> MethodArguments {
        do { return try descriptor.arguments(given) } catch {
            throw LuaArgumentError(argument: 1, error.message { "field '\($0)'" })
        }
    }

    /// One number per decoder layer of a model of `layers` layers, from `value(layer)` (a Lua
    /// function of the 0-based layer and the layer count): `shears.layer_sparsity`'s function
    /// form and the structured steps' `ratio = function(layer, layers)`.
    ///
    /// - Throws: the function's error, or `missing(layer)` when it returns something other than
    ///   a number.
    static func layerNumbers(
        _ layers: Int, missing: (Int) -> Error, value: (Int) throws -> Double?
    ) throws -> [Double] {
        try (0..<layers).map { layer in
            guard let number = try value(layer) else { throw missing(layer) }
            return number
        }
    }

    /// The field holding `parameter`: its name or one alias (nil: neither given).
    private static func field(_ parameter: MethodParameter, _ options: LuaTableArgument) throws -> String? {
        let present = ([parameter.name] + parameter.aliases).filter { options.typeName(of: $0) != "nil" }
        guard present.count <= 1 else {
            throw LuaArgumentError(
                argument: 1,
                "give \(parameter.help) as "
                    + present.map { "'\($0)'" }.joined(separator: " or ") + ", not both")
        }
        return present.first
    }

    /// The value of `field` read as `parameter`'s type.
    private static func value(
        _ parameter: MethodParameter, _ field: String, _ options: LuaTableArgument
    ) throws -> MethodValue? {
        switch parameter.type {
        case .number: return try options.optionalNumber(field).map(MethodValue.number)
        case .integer: return try options.optionalInteger(field).map(MethodValue.integer)
        case .boolean: return try options.optionalBoolean(field).map(MethodValue.boolean)
        case .choice: return try options.optionalString(field).map { text in try parameter.choice(text) }
        case .pattern: return try options.optionalString(field).map { text in try parameter.pattern(text) }
        case .names:
            if options.typeName(of: field) == "table" { return .names(try options.optionalTable(field)!.strings()) }
            return .names([try options.string(field)])
        case .layerNumbers:
            if options.typeName(of: field) == "table" { return .numbers(try options.optionalTable(field)!.numbers()) }
            return try options.optionalNumber(field).map(MethodValue.number)
        }
    }
}
