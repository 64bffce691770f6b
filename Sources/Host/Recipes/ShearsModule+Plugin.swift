import BuiltinMethods
import Foundation
import LuaRuntime
import PluginHost

extension RecipeHandles {
    /// The library behind a `shears.Plugin` (recipes see it wrapped in a table; see `pluginPrelude`).
    static let plugin = LuaHandleType<PluginLibrary>("shears.PluginLibrary")
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
    /// Registers `shears.plugin(path)`: a `shears.Plugin` with `p:criteria()` and
    /// `p:criterion(id)`, whose result called with an options table gives a `shears.Step`.
    ///
    /// The Swift side offers four helpers that report failure as `nil, message`; a short Lua
    /// prelude keeps them as upvalues (removing them from `shears`), builds the callable that
    /// `p:criterion(id)` returns, and raises each message at the recipe's line.
    func installPlugins(into runtime: LuaRuntime) throws {
        runtime.register(RecipeHandles.plugin, properties: [
            "id": { .string($0.id) }, "name": { .string($0.name) }, "version": { .string($0.version) },
            "description": { .string($0.description) }, "path": { .string($0.path) },
            "abi": { library in .string("\(library.abiVersion.major).\(library.abiVersion.minor).\(library.abiVersion.patch)") },
        ], describe: { "\($0.id) \($0.version) (\($0.path))" })
        runtime.register("plugin_open") { [pluginSearch] call in
            let given = try call.string(1)
            do throws(PluginError) {
                // Loading a file twice shares its one initialisation (see PluginLibrary).
                let library = try PluginLibrary(path: try pluginSearch.resolve(given), hostName: "shears \(ShearsVersion.number)")
                return [.handle(library, as: RecipeHandles.plugin)]
            } catch {
                return [.nil, .string(error.description)]
            }
        }
        runtime.register("plugin_criteria") { call in
            [.array(try call.handle(1, as: RecipeHandles.plugin).criteria.map(Self.criterionTable))]
        }
        runtime.register("plugin_check") { call in
            let library = try call.handle(1, as: RecipeHandles.plugin)
            let id = try call.string(2)
            do throws(PluginError) {
                _ = try library.criterion(id)
                return []
            } catch {
                return [.string(error.description)]
            }
        }
        runtime.register("plugin_step") { call in
            let library = try call.handle(1, as: RecipeHandles.plugin)
            let id = try call.string(2)
            do throws(PluginError) {
                return [try Self.step(library, id, call)]
            } catch {
                return [.nil, .string(error.description)]
            }
        }
        try runtime.run(source: Self.pluginPrelude, name: "=shears.plugin")
    }

    /// Lua: `shears.plugin` and the `shears.Plugin` wrapper around the Swift helpers.
    private static let pluginPrelude = """
        local open, list, check, make = shears.plugin_open, shears.plugin_criteria, shears.plugin_check, shears.plugin_step
        shears.plugin_open, shears.plugin_criteria, shears.plugin_check, shears.plugin_step = nil, nil, nil, nil
        local libraries = setmetatable({}, { __mode = "k" })
        local methods = {}
        function methods.criteria(self) return list(libraries[self]) end
        function methods.criterion(self, id)
            local library = libraries[self]
            if type(id) ~= "string" then error("p:criterion(id): the id must be a string, got " .. type(id), 2) end
            local problem = check(library, id)
            if problem then error(problem, 2) end
            return function(options)
                local step, message = make(library, id, options)
                if not step then error(message, 2) end
                return step
            end
        end
        local Plugin = {
            __name = "shears.Plugin", __metatable = "shears.Plugin",
            __index = function(self, key) return methods[key] or libraries[self][key] end,
            __newindex = function() error("shears.Plugin is read-only", 2) end,
            __tostring = function(self) return "shears.Plugin: " .. tostring(libraries[self]):gsub("^shears.PluginLibrary: ", "") end,
        }
        function shears.plugin(path)
            if type(path) ~= "string" then error("shears.plugin(path): the path must be a string, got " .. type(path), 2) end
            local library, message = open(path)
            if not library then error(message, 2) end
            local plugin = setmetatable({}, Plugin)
            libraries[plugin] = library
            return plugin
        end
        """

    /// `p:criteria()`'s entry for one criterion.
    private static func criterionTable(_ descriptor: PluginCriterionDescriptor) -> LuaValue {
        let parameters: [LuaValue] = descriptor.parameters.map { parameter in
            var table: [String: LuaValue] = ["name": .string(parameter.name), "type": .string(parameter.kind.rawValue),
                                             "description": .string(parameter.description), "default": luaValue(parameter.defaultValue)]
            if parameter.kind == .number || parameter.kind == .integer {
                table["minimum"] = .number(parameter.minimum)
                table["maximum"] = .number(parameter.maximum)
            }
            return .table(table)
        }
        return ["id": .string(descriptor.id), "name": .string(descriptor.name), "version": .string(descriptor.version),
                "description": .string(descriptor.description), "statistics": .array(descriptor.statisticsNames.map { .string($0) }),
                "parameters": .array(parameters), "thread_safe": .boolean(descriptor.isThreadSafe)]
    }

    private static func luaValue(_ value: PluginParameterValue) -> LuaValue {
        switch value {
        case .number(let number): .number(number)
        case .integer(let integer): .integer(Int(integer))
        case .boolean(let flag): .boolean(flag)
        case .string(let text): .string(text)
        }
    }

    /// The `shears.Step` of criterion `id` with the options table at argument 3 (nil: defaults).
    private static func step(_ library: PluginLibrary, _ id: String, _ call: LuaCall) throws(PluginError) -> LuaValue {
        func fail(_ message: String) -> PluginError { PluginError(plugin: library.path, criterion: id, message) }
        let descriptor = try library.criterion(id)
        let options = try argument(fail) { try call.optionalTable(3) }
        let reserved = PluginParameterDeclaration.reservedNames
        do {
            try options?.checkFields(allowed: reserved.union(descriptor.parameters.map(\.name)))
        } catch let error as LuaArgumentError where error.detail.hasPrefix("unknown field '") {
            let declared = descriptor.parameters.map(\.name)
            let name = error.detail.dropFirst("unknown field '".count).prefix { $0 != "'" }
            throw fail("unknown parameter '\(name)' (parameters: \(declared.isEmpty ? "none" : declared.joined(separator: ", ")); "
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
                throw fail("parameter '\(parameter.name)' must be \(parameter.kind == .integer ? "an" : "a") \(parameter.kind.rawValue), got a \(other)")
            }
        }
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
                throw fail("field 'selector' must be one of \(PluginMethod.Selection.allCases.map(\.rawValue).joined(separator: ", ")), got '\(text)'")
            }
            return selection
        }
        let criterion = try PluginCriterion(library: library, id: id, parameters: given)
        let steps = try PluginMethod.steps(criterion, sparsity: sparsity, pattern: pattern, selection: selection)
        var summary = criterion.parameters.summary(order: descriptor.parameters).map { ($0.0, Optional($0.1)) }
        summary += [("sparsity", sparsity.map { "\($0)" }), ("pattern", pattern == .unstructured ? nil : pattern.description),
                    ("selector", selectorText)]
        let recipe = PruneRecipe(steps: steps, description: PruneRecipe.describe("\(library.id)/\(id)", summary))
        return .handle(recipe, as: RecipeHandles.step)
    }

    /// Runs a Lua argument reader, turning its error into a `PluginError` built by `fail`.
    private static func argument<Value>(_ fail: (String) -> PluginError, _ read: () throws -> Value) throws(PluginError) -> Value {
        do {
            return try read()
        } catch let error as LuaArgumentError {
            throw fail(error.detail)
        } catch {
            throw fail("\(error)")
        }
    }
}
