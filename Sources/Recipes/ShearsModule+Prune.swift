import BuiltinMethods
import Inference
import LuaRuntime
import ModelIO
import PruningEngine

extension RecipeHandles {
    /// `shears.Step`: a pruning step (or chain) made by `shears.wanda{...}` and friends.
    static let step = LuaHandleType<PruneRecipe>("shears.Step")
}

extension ShearsModule {
    /// Registers `shears.magnitude`, `shears.wanda`, `shears.sparsegpt`, `shears.reconstruct`,
    /// `shears.dsnot`, `shears.owl`, `shears.layer_sparsity` and `shears.prune`.
    func installPruning(into runtime: LuaRuntime) {
        runtime.register(RecipeHandles.step, describe: { $0.description })
        runtime.register("magnitude") { call in
            let options = try call.optionalTable(1)
            try options?.checkFields(allowed: ["sparsity", "pattern", "scope"])
            let sparsity = try options?.optionalNumber("sparsity"), pattern = try Self.pattern(options)
            let scopeName = try options?.string("scope", default: "matrix") ?? "matrix"
            guard let scope = PruneMethod.MagnitudeScope(rawValue: scopeName) else {
                throw LuaArgumentError(argument: 1, "field 'scope' must be 'matrix' or 'row', got '\(scopeName)'")
            }
            let steps = try Self.steps { () throws(PruneError) in try PruneMethod.magnitude(sparsity: sparsity, pattern: pattern, scope: scope) }
            return [Self.handle(steps, "magnitude", [("sparsity", sparsity.map { "\($0)" }), ("pattern", Self.text(pattern)), ("scope", scopeName)])]
        }
        runtime.register("wanda") { call in
            let options = try call.optionalTable(1)
            try options?.checkFields(allowed: ["sparsity", "pattern", "variant"])
            let sparsity = try options?.optionalNumber("sparsity"), pattern = try Self.pattern(options)
            let variant = try options?.boolean("variant", default: false) ?? false
            let steps = try Self.steps { () throws(PruneError) in try PruneMethod.wanda(sparsity: sparsity, pattern: pattern, variant: variant) }
            return [Self.handle(steps, "wanda", [("sparsity", sparsity.map { "\($0)" }), ("pattern", Self.text(pattern)), ("variant", variant ? "true" : nil)])]
        }
        runtime.register("sparsegpt") { call in
            let options = try call.optionalTable(1)
            try options?.checkFields(allowed: ["sparsity", "pattern", "blocksize", "damp"])
            let sparsity = try options?.optionalNumber("sparsity"), pattern = try Self.pattern(options)
            let blocksize = try options?.integer("blocksize", default: 128) ?? 128
            let damp = try options?.number("damp", default: 0.01) ?? 0.01
            let steps = try Self.steps { () throws(PruneError) in
                try PruneMethod.sparseGPT(sparsity: sparsity, pattern: pattern, blocksize: blocksize, damping: damp)
            }
            return [Self.handle(steps, "sparsegpt", [("sparsity", sparsity.map { "\($0)" }), ("pattern", Self.text(pattern)),
                                                     ("blocksize", "\(blocksize)"), ("damp", "\(damp)")])]
        }
        runtime.register("reconstruct") { call in
            let options = try call.optionalTable(1)
            try options?.checkFields(allowed: ["blocksize", "damp"])
            let blocksize = try options?.integer("blocksize", default: 128) ?? 128
            let damp = try options?.number("damp", default: 0.01) ?? 0.01
            let steps = try Self.steps { () throws(PruneError) in
                [try SparseGPTReconstructor(maskSource: .fixedMask, blocksize: blocksize, damping: damp)]
            }
            return [Self.handle(steps, "reconstruct", [("blocksize", "\(blocksize)"), ("damp", "\(damp)")])]
        }
        runtime.register("dsnot") { call in
            let options = try call.optionalTable(1)
            try options?.checkFields(allowed: ["max_cycles", "threshold", "power", "layers", "grow_pruned_only"])
            let cycles = try options?.integer("max_cycles", default: 50) ?? 50
            let threshold = try options?.number("threshold", default: 0.1) ?? 0.1
            let power = try options?.number("power", default: 1) ?? 1
            let growPrunedOnly = try options?.boolean("grow_pruned_only", default: false) ?? false
            let names: [String] = switch options?.typeName(of: "layers") {
            case nil, "nil": ["attention"]
            case "table": try options!.optionalTable("layers")!.strings()
            default: [try options!.string("layers")]
            }
            let steps = try Self.steps { () throws(PruneError) in
                var parts: Set<LlamaTensorNames.Layer> = []
                for name in names { parts.formUnion(try DSnoTRefiner.parts(named: name)) }
                return try PruneMethod.dsnot(maxCycles: cycles, threshold: threshold, power: power, parts: parts,
                                             growPrunedOnly: growPrunedOnly)
            }
            return [Self.handle(steps, "dsnot", [("max_cycles", "\(cycles)"), ("threshold", "\(threshold)"), ("power", "\(power)"),
                                                 ("layers", names.joined(separator: "+")),
                                                 ("grow_pruned_only", growPrunedOnly ? "true" : nil)])]
        }
        runtime.register("owl") { call in
            let options = try call.table(1)
            try options.checkFields(allowed: ["sparsity", "pattern", "m", "M", "lambda"])
            let sparsity = try options.optionalNumber("sparsity"), pattern = try Self.pattern(options)
            if try options.optionalNumber("m") != nil, try options.optionalNumber("M") != nil {
                throw LuaArgumentError(argument: 1, "give the outlier multiplier as 'm' or 'M', not both")
            }
            let m = try options.optionalNumber("m") ?? options.number("M", default: 5)
            let lambda = try options.number("lambda", default: 0.08)
            let steps = try Self.steps { () throws(PruneError) in
                try PruneMethod.owl(sparsity: sparsity, pattern: pattern, outlierMultiplier: m, lambda: lambda)
            }
            return [Self.handle(steps, "owl", [("sparsity", sparsity.map { "\($0)" }), ("pattern", Self.text(pattern)),
                                               ("m", "\(m)"), ("lambda", "\(lambda)")])]
        }
        runtime.register("layer_sparsity") { (call: LuaCall) throws -> [LuaValue] in
            let values = try Self.layerSparsities(call)
            let allocator: LayerSparsity
            do throws(PruneError) { allocator = try LayerSparsity(values) } catch { throw LuaArgumentError(argument: 1, error.message) }
            return [Self.handle([allocator], "layer_sparsity", [("layers", "\(values.count)"), ("mean", "\(allocator.meanSparsity)")])]
        }
        runtime.register("prune") { call in try Self.prune(call) }
        installRIA(into: runtime)
    }

    private static func prune(_ call: LuaCall) throws -> [LuaValue] {
        let model = try call.handle(1, as: RecipeHandles.model).model
        let calibration = try call.optionalHandle(2, as: RecipeHandles.calibration)?.set
        let spec = try call.table(3)
        try spec.checkFields(allowed: ["targets", "ignore", "on_layer"], allowingSequence: true)
        var recipes: [PruneRecipe] = []
        for index in stride(from: 1, through: spec.count, by: 1) {
            guard let stackIndex = try spec.handleIndex(at: index) else {
                throw LuaArgumentError(argument: 3, "element #\(index) must be a shears.Step, got nil")
            }
            recipes.append(try call.handle(Int(stackIndex), as: RecipeHandles.step))
        }
        guard !recipes.isEmpty else {
            throw LuaArgumentError(argument: 3, "no steps given: pass a list such as { shears.wanda{ sparsity = 0.5 } }")
        }
        let targets = try spec.optionalTable("targets")?.strings()
        let ignore = try spec.optionalTable("ignore")?.strings() ?? []
        let callback = try spec.function("on_layer")
        var callbackError: Error?
        let onLayer: ((Int, LayerReport) -> Void)? = callback.map { index in
            { layer, report in
                guard callbackError == nil else { return }
                do { try call.callFunction(at: index, [.integer(layer), layerTable(report)]) } catch { callbackError = error }
            }
        }
        let report: PruneReport
        do {
            report = try PruneSession.run(
                model: model, recipes: recipes, calibration: calibration?.windows ?? [],
                calibrationSource: calibration?.source ?? "none", targets: targets, ignore: ignore, onLayer: onLayer)
        } catch {
            throw LuaScriptError("\(error)")
        }
        if let callbackError { throw callbackError }
        return [reportTable(report)]
    }

    // MARK: Helpers

    /// `layer_sparsity`'s values: a list `{ s0, s1, ... }`, or `(m, function(layer, layers) ... end)`
    /// called once per decoder layer of `m` (0-based) right away.
    private static func layerSparsities(_ call: LuaCall) throws -> [Double] {
        guard call.isFunction(2) else {
            let list = try call.table(1)
            try list.checkFields(allowed: [], allowingSequence: true)
            return try list.numbers()
        }
        let layers = try call.handle(1, as: RecipeHandles.model).model.config.layerCount
        return try (0..<layers).map { layer in
            guard let value = try call.callFunctionForNumber(at: 2, [.integer(layer), .integer(layers)]) else {
                throw LuaArgumentError(argument: 2, "the function must return a number (the sparsity of layer \(layer))")
            }
            return value
        }
    }

    private static func pattern(_ options: LuaTableArgument?) throws -> SparsityPattern {
        guard let text = try options?.optionalString("pattern") else { return .unstructured }
        do { return try SparsityPattern(parsing: text) } catch { throw LuaArgumentError(argument: 1, "field 'pattern': \(error.message)") }
    }

    private static func text(_ pattern: SparsityPattern) -> String? { pattern == .unstructured ? nil : pattern.description }

    private static func steps(_ make: () throws(PruneError) -> [any PruneStep]) throws -> [any PruneStep] {
        do { return try make() } catch { throw LuaArgumentError(argument: 1, error.message) }
    }

    private static func handle(_ steps: [any PruneStep], _ name: String, _ parameters: [(String, String?)]) -> LuaValue {
        .handle(PruneRecipe(steps: steps, description: PruneRecipe.describe(name, parameters)), as: RecipeHandles.step)
    }

    /// A layer's report as a Lua table: its sparsity reached, its target (an allocator's, e.g.
    /// OWL's), the OWL outlier ratio and N:M pattern when planned, error, matrices and time.
    static func layerTable(_ report: LayerReport) -> LuaValue {
        var matrices: [String: LuaValue] = [:]
        for matrix in report.matrices {
            matrices[matrix.name] = ["sparsity": .number(matrix.sparsity), "target": .number(matrix.targetSparsity),
                                     "notes": .array(matrix.notes.map { .string($0) })]
        }
        let target = report.plan?.sparsity ?? report.matrices.first?.targetSparsity
        return ["layer": .integer(report.layer), "error": report.outputError.map { .number($0) } ?? .nil,
                "sparsity": .number(report.sparsity), "target": target.map { .number($0) } ?? .nil,
                "outlier_ratio": report.plan?.measure.map { .number($0) } ?? .nil,
                "pattern": report.plan?.pattern.map { .string($0.description) } ?? .nil,
                "matrices": .table(matrices), "seconds": .number(report.times.total)]
    }

    /// The whole report as a Lua table.
    static func reportTable(_ report: PruneReport) -> LuaValue {
        [
            "sparsity": .number(report.sparsity), "seconds": .number(report.seconds),
            "steps": .array(report.steps.map { .string($0) }),
            "times": ["forwards": .number(report.times.forwards), "statistics": .number(report.times.statistics),
                      "selection": .number(report.times.selection), "reconstruction": .number(report.times.reconstruction)],
            "layers": .array(report.layers.map(layerTable)),
            "calibration_windows": .integer(report.calibrationWindows), "calibration_tokens": .integer(report.calibrationTokens),
        ]
    }
}
