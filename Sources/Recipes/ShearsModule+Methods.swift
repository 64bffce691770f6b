import BuiltinMethods
import LuaRuntime
import PruningEngine

extension ShearsModule {
    /// Registers one function per built-in of `MethodRegistry` (`shears.magnitude`, `shears.wanda`,
    /// `shears.sparsegpt`, `shears.ria`, `shears.owl`, `shears.dsnot`, `shears.reconstruct`): each
    /// takes an optional table of the descriptor's parameters and returns a `shears.Step`.
    func installMethods(into runtime: LuaRuntime) {
        for descriptor in MethodRegistry.builtins {
            runtime.register(descriptor.name) { (call: LuaCall) throws -> [LuaValue] in
                let arguments = try Self.arguments(descriptor, call.optionalTable(1))
                let steps: [any PruneStep]
                do throws(PruneError) { steps = try descriptor.makeSteps(arguments) } catch {
                    throw LuaArgumentError(argument: 1, error.message)
                }
                return [
                    .handle(
                        PruneRecipe(steps: steps, description: descriptor.describe(arguments)), as: RecipeHandles.step)
                ]
            }
        }
    }

    /// The descriptor's arguments from a recipe's options table (nil: all defaults), read with the
    /// table's own type checks.
    private static func arguments(
        _ descriptor: MethodDescriptor, _ options: LuaTableArgument?
    ) throws -> MethodArguments {
        try options?.checkFields(allowed: descriptor.acceptedNames)
        var given: [String: MethodValue] = [:]
        do {
            for parameter in descriptor.parameters {
                guard let options, let field = try field(parameter, options) else { continue }
                if let value = try value(parameter, field, options) { given[parameter.name] = value }
            }
            return try descriptor.arguments(given)
        } catch let error as MethodArgumentError {
            throw LuaArgumentError(argument: 1, error.message { "field '\($0)'" })
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
        }
    }
}
