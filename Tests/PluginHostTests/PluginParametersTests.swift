import PluginHost
import Testing

/// User values against declarations: defaults, conversions, and each way a value can be wrong.
@Suite("plugin parameters")
struct PluginParametersTests {
    static let descriptor: PluginCriterionDescriptor = {
        try! BuiltPlugins.load("ShearsFixtureParams").criterion("params")
    }()

    private func validate(_ values: [String: PluginParameterValue]) throws(PluginError) -> PluginParameters {
        try PluginParameters(validating: values, for: Self.descriptor, plugin: "p.so")
    }

    @Test("left-out values get their defaults; integral numbers become integers")
    func defaults() throws {
        let parameters = try validate(["shift": .number(2)])
        #expect(
            parameters.values == [
                "scale": .number(1), "shift": .integer(2), "negate": .boolean(false), "mode": .string("abs"),
            ])
    }

    @Test(
        "bad values name the plugin, criterion and parameter",
        arguments: [
            (
                ["alpha": PluginParameterValue.number(1)],
                "unknown parameter 'alpha' (declared: scale, shift, negate, mode)"
            ),
            (["sparsity": .number(0.5)], "'sparsity' is a step option, not a parameter of this criterion"),
            (["scale": .string("big")], "parameter 'scale' must be a number, got a string (\"big\")"),
            (["negate": .number(1)], "parameter 'negate' must be a boolean, got a number (1.0)"),
            (["shift": .number(1.5)], "parameter 'shift' must be an integer, got 1.5"),
            (["scale": .number(8)], "parameter 'scale': 8.0 is outside [0.5, 4.0]"),
            (["shift": .number(-4)], "parameter 'shift': -4 is outside [-3.0, 3.0]"),
            (["scale": .number(.nan)], "parameter 'scale': nan is not a finite number"),
        ])
    func badValues(values: [String: PluginParameterValue], message: String) {
        #expect(throws: PluginError(plugin: "p.so", criterion: "params", message)) { try validate(values) }
    }
}
