import BuiltinMethods
import LuaRuntime
import PruningEngine

extension ShearsModule {
    /// Registers `shears.ria{ sparsity, pattern, a, scope, permute, lsa }`.
    func installRIA(into runtime: LuaRuntime) {
        runtime.register("ria") { call in try Self.ria(call) }
    }

    /// `shears.ria{...}`: the RIA steps as a `shears.Step`.
    private static func ria(_ call: LuaCall) throws -> [LuaValue] {
        let options = try call.optionalTable(1)
        try options?.checkFields(allowed: ["sparsity", "pattern", "a", "scope", "permute", "lsa"])
        let sparsity = try options?.optionalNumber("sparsity")
        var pattern = SparsityPattern.unstructured
        if let text = try options?.optionalString("pattern") {
            do { pattern = try SparsityPattern(parsing: text) } catch {
                throw LuaArgumentError(argument: 1, "field 'pattern': \(error.message)")
            }
        }
        let exponent = try options?.number("a", default: 0.5) ?? 0.5
        let scopeName = try options?.string("scope", default: "matrix") ?? "matrix"
        guard let scope = PruneMethod.RIAScope(rawValue: scopeName) else {
            throw LuaArgumentError(argument: 1, "field 'scope' must be 'matrix' or 'row', got '\(scopeName)'")
        }
        let permute = try options?.boolean("permute", default: false) ?? false
        let lsa = try options?.optionalBoolean("lsa")
        let steps: [any PruneStep]
        do {
            steps = try PruneMethod.ria(sparsity: sparsity, pattern: pattern, exponent: exponent, scope: scope,
                                        permute: permute, lsa: lsa)
        } catch {
            throw LuaArgumentError(argument: 1, error.message)
        }
        let parameters: [(String, String?)] = [
            ("sparsity", sparsity.map { "\($0)" }), ("pattern", pattern == .unstructured ? nil : pattern.description),
            ("a", "\(exponent)"), ("scope", pattern == .unstructured ? scopeName : nil),
            ("permute", permute ? "true" : nil), ("lsa", permute ? "\(lsa ?? true)" : nil),
        ]
        return [.handle(PruneRecipe(steps: steps, description: PruneRecipe.describe("ria", parameters)),
                        as: RecipeHandles.step)]
    }
}
