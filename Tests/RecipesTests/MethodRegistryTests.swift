import BuiltinMethods
import PruningEngine
import Recipes
import Testing

/// The registry's declared parameters against what the steps accept, and its descriptions.
@Suite("method registry")
struct MethodRegistryTests {
    /// Arguments a descriptor needs besides `parameter` (OWL needs a sparsity, structured steps a ratio).
    static func base(_ descriptor: MethodDescriptor, without parameter: String) -> [String: MethodValue] {
        if descriptor.name == "owl" && parameter != "sparsity" { return ["sparsity": .number(0.5)] }
        if descriptor.parameter("ratio") != nil && !["ratio", "params"].contains(parameter) {
            return ["ratio": .number(0.5)]
        }
        return [:]
    }

    /// Values just inside and just outside `range`, as `type` values.
    static func probes(
        _ range: MethodParameterRange, _ type: MethodParameterType
    ) -> (inside: [MethodValue], outside: [MethodValue]) {
        let integer = type == .integer
        func value(_ number: Double) -> MethodValue { integer ? .integer(Int(number)) : .number(number) }
        var inside = [value(range.includesLower ? range.lower : (integer ? range.lower + 1 : range.lower.nextUp))]
        var outside = [value(range.includesLower ? (integer ? range.lower - 1 : range.lower.nextDown) : range.lower)]
        if let upper = range.upper {
            inside.append(value(range.includesUpper ? upper : (integer ? upper - 1 : upper.nextDown)))
            outside.append(value(range.includesUpper ? (integer ? upper + 1 : upper.nextUp) : upper))
        } else if !integer {
            outside.append(.number(.infinity))
        }
        return (inside, outside)
    }

    @Test("every declared range is the one the steps enforce", arguments: MethodRegistry.builtins)
    func rangesAgree(descriptor: MethodDescriptor) throws {
        for parameter in descriptor.parameters {
            guard let range = parameter.range else { continue }
            let (inside, outside) = Self.probes(range, parameter.type)
            for value in inside {
                var given = Self.base(descriptor, without: parameter.name)
                given[parameter.name] = value
                #expect(throws: Never.self, "\(descriptor.name).\(parameter.name) = \(value)") {
                    try descriptor.makeSteps(try descriptor.arguments(given))
                }
            }
            for value in outside {
                var given = Self.base(descriptor, without: parameter.name)
                given[parameter.name] = value
                #expect(throws: PruneError.self, "\(descriptor.name).\(parameter.name) = \(value)") {
                    try descriptor.makeSteps(try descriptor.arguments(given))
                }
            }
        }
    }

    @Test("descriptions show what the recipe functions always showed")
    func descriptions() throws {
        func describe(_ descriptor: MethodDescriptor, _ given: [String: MethodValue]) throws -> String {
            descriptor.describe(try descriptor.arguments(given))
        }
        #expect(
            try describe(MethodRegistry.magnitude, ["sparsity": .number(0.5)])
                == "magnitude(sparsity=0.5, scope=matrix)")
        #expect(
            try describe(MethodRegistry.wanda, ["pattern": .pattern(.nm(keep: 2, group: 4))]) == "wanda(pattern=2:4)")
        #expect(
            try describe(MethodRegistry.ria, ["pattern": .pattern(.nm(keep: 2, group: 4)), "permute": .boolean(true)])
                == "ria(pattern=2:4, a=0.5, permute=true, lsa=true)")
        #expect(try describe(MethodRegistry.owl, ["sparsity": .number(0.7)]) == "owl(sparsity=0.7, m=5.0, lambda=0.08)")
        #expect(
            try describe(MethodRegistry.dsnot, ["layers": .names(["attention", "mlp"])])
                == "dsnot(max_cycles=50, threshold=0.1, power=1.0, layers=attention+mlp)")
    }

    @Test("unknown parameters and wrong types are refused with the parameter named")
    func badArguments() {
        #expect(
            throws: MethodArgumentError(
                parameter: "alpha", "is not one of ria's parameters (sparsity, pattern, a, scope, permute, lsa)")
        ) {
            try MethodRegistry.ria.arguments(["alpha": .number(1)])
        }
        #expect(throws: MethodArgumentError(parameter: "scope", "must be 'matrix' or 'row', got 'column'")) {
            try MethodRegistry.magnitude.parameter("scope")!.parse("column")
        }
        #expect(throws: MethodArgumentError(parameter: "max_cycles", "must be an integer, got '2.5'")) {
            try MethodRegistry.dsnot.parameter("max_cycles")!.parse("2.5")
        }
    }
}
