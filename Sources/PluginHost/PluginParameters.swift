/// The complete parameter values of one criterion instance: the user's values checked against
/// the declarations, with the defaults filled in for the rest.
public struct PluginParameters: Sendable, Equatable {
    /// Every declared parameter's value, by name.
    public let values: [String: PluginParameterValue]

    /// Checks `given` against `descriptor`'s declarations.
    ///
    /// A number is accepted for an integer parameter when it is integral, and an integer for a
    /// number parameter.
    ///
    /// - Throws: `PluginError` naming `plugin` and the criterion for an unknown or reserved name,
    ///   a value of the wrong type, a non-integral integer or a value outside the declared range.
    public init(
        validating given: [String: PluginParameterValue], for descriptor: PluginCriterionDescriptor,
        plugin: String
    ) throws(PluginError) {
        func fail(_ message: String) -> PluginError { PluginError(plugin: plugin, criterion: descriptor.id, message) }
        for name in given.keys.sorted() where !descriptor.parameters.contains(where: { $0.name == name }) {
            if PluginParameterDeclaration.reservedNames.contains(name) {
                throw fail("'\(name)' is a step option, not a parameter of this criterion")
            }
            let declared = descriptor.parameters.map(\.name)
            throw fail(
                "unknown parameter '\(name)' (declared: \(declared.isEmpty ? "none" : declared.joined(separator: ", ")))"
            )
        }
        var values: [String: PluginParameterValue] = [:]
        for declaration in descriptor.parameters {
            guard let value = given[declaration.name] else {
                values[declaration.name] = declaration.defaultValue
                continue
            }
            let converted = try Self.convert(value, to: declaration, fail: fail)
            if let problem = declaration.rangeProblem(converted) {
                throw fail("parameter '\(declaration.name)': \(problem)")
            }
            values[declaration.name] = converted
        }
        self.values = values
    }

    /// `value` as a value of `declaration`'s type.
    private static func convert(
        _ value: PluginParameterValue, to declaration: PluginParameterDeclaration,
        fail: (String) -> PluginError
    ) throws(PluginError) -> PluginParameterValue {
        switch (declaration.kind, value) {
        case (.number, .number), (.integer, .integer), (.boolean, .boolean), (.string, .string):
            return value
        case (.number, .integer(let integer)):
            return .number(Double(integer))
        case (.integer, .number(let number)):
            guard number.isFinite, number.rounded() == number, abs(number) < 0x1p63 else {
                throw fail("parameter '\(declaration.name)' must be an integer, got \(number)")
            }
            return .integer(Int64(number))
        default:
            let expected = PluginParameterValue.kindName(of: declaration.kind)
            throw fail("parameter '\(declaration.name)' must be \(expected), got \(value.kindName) (\(value))")
        }
    }

    /// `name(key=value, ...)`-style text of the values in declaration order.
    public func summary(order: [PluginParameterDeclaration]) -> [(String, String)] {
        order.compactMap { declaration in values[declaration.name].map { (declaration.name, $0.description) } }
    }
}

extension PluginParameterValue {
    /// "a number", ... for a declared kind.
    static func kindName(of kind: PluginParameterDeclaration.Kind) -> String {
        switch kind {
        case .number: "a number"
        case .integer: "an integer"
        case .boolean: "a boolean"
        case .string: "a string"
        }
    }
}
