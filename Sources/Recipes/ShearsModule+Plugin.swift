import BuiltinMethods
import Foundation
import LuaRuntime
import PluginHost
import PruningEngine

extension RecipeHandles {
    /// `shears.Plugin`: a plugin library loaded by `shears.plugin(path)`.
    static let plugin = LuaHandleType<PluginLibrary>("shears.Plugin")
    /// `shears.PluginCriterion`: one criterion of a plugin (`p:criterion(id)`), callable with
    /// step options to make a `shears.Step`.
    static let pluginCriterion = LuaHandleType<PluginCriterionReference>("shears.PluginCriterion")
}

/// Where `shears.plugin(path)` looks for a relative path: each `--plugin-dir` in order when any
/// is given, else the recipe's directory. Absolute paths are used as given.
struct PluginSearchPath {
    /// The `--plugin-dir` directories.
    var directories: [String] = []
    /// The directory of the running recipe ("" for the current directory).
    var recipeDirectory = ""

    /// The file `path` names.
    ///
    /// - Throws: `PluginError` when `--plugin-dir` directories are given and none holds `path`.
    func resolve(_ path: String) throws(PluginError) -> String {
        if path.hasPrefix("/") { return path }
        guard !directories.isEmpty else {
            return recipeDirectory.isEmpty ? path : (recipeDirectory as NSString).appendingPathComponent(path)
        }
        for directory in directories {
            let candidate = (directory as NSString).appendingPathComponent(path)
            if FileManager.default.fileExists(atPath: candidate) { return candidate }
        }
        throw PluginError(plugin: path, "not found in --plugin-dir \(directories.joined(separator: ", "))")
    }
}

extension ShearsModule {
    /// Registers `shears.plugin(path)`, the `shears.Plugin` handle (`p:criteria()`,
    /// `p:criterion(id)`) and the callable `shears.PluginCriterion` handle, whose call with an
    /// options table gives a `shears.Step`.
    ///
    /// A `PluginError` (a library that cannot be loaded, an unknown criterion, a bad option) is
    /// raised at the recipe's line as "plugin PATH: criterion 'ID': message".
    func installPlugins(into runtime: LuaRuntime) {
        runtime.register(
            RecipeHandles.plugin,
            methods: [
                "criteria": { library, _ in [.array(library.criteria.map(Self.criterionTable))] },
                "criterion": { library, call in
                    [
                        .handle(
                            try PluginCriterionReference(library: library, id: try call.string(2)),
                            as: RecipeHandles.pluginCriterion)
                    ]
                },
            ],
            properties: [
                "id": { .string($0.id) }, "name": { .string($0.name) }, "version": { .string($0.version) },
                "description": { .string($0.description) }, "path": { .string($0.path) },
                "abi": { library in
                    .string("\(library.abiVersion.major).\(library.abiVersion.minor).\(library.abiVersion.patch)")
                },
            ],
            describe: { "\($0.id) \($0.version) (\($0.path))" })
        runtime.register(
            RecipeHandles.pluginCriterion,
            properties: [
                "id": { .string($0.descriptor.id) }, "name": { .string($0.descriptor.name) },
                "version": { .string($0.descriptor.version) }, "description": { .string($0.descriptor.description) },
                "parameters": { .array($0.descriptor.parameters.map(Self.parameterTable)) },
            ],
            call: { reference, call in [try Self.step(reference, options: call)] },
            describe: { "\($0.library.id)/\($0.descriptor.id) \($0.descriptor.version)" })
        runtime.register("plugin") { [pluginSearch] call in
            let path = try pluginSearch.resolve(try call.string(1))
            // Loading a file twice shares its one initialisation (see PluginLibrary).
            return [
                .handle(
                    try PluginLibrary(path: path, hostName: "shears \(ShearsVersion.number)"), as: RecipeHandles.plugin)
            ]
        }
    }

    /// `p:criteria()`'s entry for one criterion.
    private static func criterionTable(_ descriptor: PluginCriterionDescriptor) -> LuaValue {
        [
            "id": .string(descriptor.id), "name": .string(descriptor.name), "version": .string(descriptor.version),
            "description": .string(descriptor.description),
            "statistics": .array(descriptor.statisticsNames.map { .string($0) }),
            "parameters": .array(descriptor.parameters.map(parameterTable)),
            "thread_safe": .boolean(descriptor.isThreadSafe),
        ]
    }

    /// The entry of one declared parameter in `parameters` lists.
    private static func parameterTable(_ parameter: PluginParameterDeclaration) -> LuaValue {
        var table: [String: LuaValue] = [
            "name": .string(parameter.name), "type": .string(parameter.kind.rawValue),
            "description": .string(parameter.description), "default": luaValue(parameter.defaultValue),
        ]
        if parameter.kind == .number || parameter.kind == .integer {
            table["minimum"] = .number(parameter.minimum)
            table["maximum"] = .number(parameter.maximum)
        }
        return .table(table)
    }

    private static func luaValue(_ value: PluginParameterValue) -> LuaValue {
        switch value {
        case .number(let number): .number(number)
        case .integer(let integer): .integer(Int(integer))
        case .boolean(let flag): .boolean(flag)
        case .string(let text): .string(text)
        }
    }

    /// The `shears.Step` of the criterion with the options table the caller passed (argument 2 of
    /// the call, after the handle itself; nil gives the defaults).
    private static func step(
        _ reference: PluginCriterionReference, options call: LuaCall
    ) throws(PluginError) -> LuaValue {
        let library = reference.library, descriptor = reference.descriptor, id = descriptor.id
        func fail(_ message: String) -> PluginError { PluginError(plugin: library.path, criterion: id, message) }
        let options: LuaTableArgument?
        do {
            options = try call.optionalTable(2)
        } catch {
            throw fail("the step options must be a table, got \(call.typeName(2))")
        }
        let reserved =
            descriptor.isUnitCriterion
            ? PluginCriterionDescriptor.unitStepOptions : PluginParameterDeclaration.reservedNames
        do {
            try options?.checkFields(allowed: reserved.union(descriptor.parameters.map(\.name)))
        } catch let error as LuaArgumentError where error.detail.hasPrefix("unknown field '") {
            let declared = descriptor.parameters.map(\.name)
            let name = error.detail.dropFirst("unknown field '".count).prefix { $0 != "'" }
            throw fail(
                "unknown parameter '\(name)' (parameters: \(declared.isEmpty ? "none" : declared.joined(separator: ", ")); "
                    + "step options: \(reserved.sorted().joined(separator: ", ")))")
        } catch {
            throw fail("\(error)")
        }
        var given: [String: PluginParameterValue] = [:]
        for parameter in descriptor.parameters {
            guard let options else { break }
            switch options.typeName(of: parameter.name) {
            case "nil": continue
            case "number": given[parameter.name] = .number(try argument(fail) { try options.number(parameter.name) })
            case "boolean": given[parameter.name] = .boolean(try argument(fail) { try options.boolean(parameter.name) })
            case "string": given[parameter.name] = .string(try argument(fail) { try options.string(parameter.name) })
            case let other:
                throw fail(
                    "parameter '\(parameter.name)' must be \(parameter.kind == .integer ? "an" : "a") \(parameter.kind.rawValue), got a \(other)"
                )
            }
        }
        if descriptor.isUnitCriterion { return try unitStep(reference, given: given, options: options) }
        let sparsity = try argument(fail) { try options?.optionalNumber("sparsity") }
        let patternText = try argument(fail) { try options?.optionalString("pattern") }
        let selectorText = try argument(fail) { try options?.optionalString("selector") }
        let pattern: SparsityPattern
        do throws(PruneError) {
            pattern = try patternText.map(SparsityPattern.init(parsing:)) ?? .unstructured
        } catch {
            throw fail("field 'pattern': \(error.message)")
        }
        let selection = try selectorText.map { text throws(PluginError) in
            guard let selection = PluginMethod.Selection(rawValue: text) else {
                throw fail(
                    "field 'selector' must be one of \(PluginMethod.Selection.allCases.map(\.rawValue).joined(separator: ", ")), got '\(text)'"
                )
            }
            return selection
        }
        let criterion = try PluginCriterion(library: library, id: id, parameters: given)
        let steps = try PluginMethod.steps(criterion, sparsity: sparsity, pattern: pattern, selection: selection)
        var summary = criterion.parameters.summary(order: descriptor.parameters).map { ($0.0, Optional($0.1)) }
        summary += [
            ("sparsity", sparsity.map { "\($0)" }), ("pattern", pattern == .unstructured ? nil : pattern.description),
            ("selector", selectorText),
        ]
        let recipe = PruneRecipe(steps: steps, description: PruneRecipe.describe("\(library.id)/\(id)", summary))
        return .handle(recipe, as: RecipeHandles.step)
    }

    /// The `shears.Step` of a unit criterion (ABI 1.1): a `UnitRemoval` of `unit` ("heads",
    /// "kv_groups" or "channels") scored by the plugin, with the unit steps' `ratio` (required),
    /// `layers` ("4-27"-style), `iterative`, `compensation` and `lambda`.
    private static func unitStep(
        _ reference: PluginCriterionReference, given: [String: PluginParameterValue], options: LuaTableArgument?
    ) throws(PluginError) -> LuaValue {
        let library = reference.library, id = reference.descriptor.id
        func fail(_ message: String) -> PluginError { PluginError(plugin: library.path, criterion: id, message) }
        let unitName = try argument(fail) { try options?.optionalString("unit") }
        guard let unitName, let unit = UnitRemoval.Unit(rawValue: unitName) else {
            throw fail("a unit criterion needs unit = \"heads\", \"kv_groups\" or \"channels\"")
        }
        guard let ratio = try argument(fail, { try options?.optionalNumber("ratio") }) else {
            throw fail("a unit criterion needs ratio = R, the fraction of each layer's units to remove")
        }
        let layersText = try argument(fail) { try options?.optionalString("layers") }
        let iterative = try argument(fail) { try options?.optionalInteger("iterative") }
        let compensationName = try argument(fail) { try options?.optionalString("compensation") } ?? "none"
        let lambda = try argument(fail) { try options?.optionalNumber("lambda") } ?? 0.01
        let scorer = try PluginUnitScorer(PluginCriterion(library: library, id: id, parameters: given))
        let step: UnitRemoval
        do throws(PruneError) {
            step = try UnitRemoval(
                unit: unit, scorer: scorer, ratio: ratio,
                layers: try layersText.map { text throws(PruneError) in
                    try MethodRegistry.layerList([text], parameter: "layers")
                }, iterative: iterative,
                compensation: try WidthCompensation(name: compensationName, lambda: lambda, step: unit.rawValue))
        } catch {
            throw fail(error.message)
        }
        var summary = scorer.criterion.parameters.summary(order: reference.descriptor.parameters).map {
            ($0.0, Optional($0.1))
        }
        summary += [
            ("unit", unitName), ("ratio", "\(ratio)"), ("layers", layersText), ("iterative", iterative.map { "\($0)" }),
            ("compensation", compensationName == "none" ? nil : compensationName),
        ]
        let recipe = PruneRecipe(steps: [step], description: PruneRecipe.describe("\(library.id)/\(id)", summary))
        return .handle(recipe, as: RecipeHandles.step)
    }

    /// Runs a Lua argument reader, turning its error into a `PluginError` built by `fail`.
    private static func argument<Value>(
        _ fail: (String) -> PluginError, _ read: () throws -> Value
    ) throws(PluginError) -> Value {
        do {
            return try read()
        } catch let error as LuaArgumentError {
            throw fail(error.detail)
        } catch {
            throw fail("\(error)")
        }
    }
}
