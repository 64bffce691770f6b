import PluginAPI

/// A parameter a plugin criterion declares (`shears_parameter_descriptor`), copied out of the plugin.
public struct PluginParameterDeclaration: Sendable, Equatable {
    /// The declared type.
    public enum Kind: String, Sendable {
        /// A finite double (`SHEARS_PARAMETER_NUMBER`).
        case number
        /// A 64-bit signed integer (`SHEARS_PARAMETER_INTEGER`).
        case integer
        /// A boolean (`SHEARS_PARAMETER_BOOLEAN`).
        case boolean
        /// A UTF-8 string (`SHEARS_PARAMETER_STRING`).
        case string
    }

    /// The step options the host reads itself; no plugin parameter may use these names.
    public static let reservedNames: Set<String> = ["sparsity", "pattern", "selector"]

    /// Name as written in recipes.
    public let name: String
    /// One line for `shears plugins`.
    public let description: String
    /// The type.
    public let kind: Kind
    /// The value used when a recipe leaves the parameter out.
    public let defaultValue: PluginParameterValue
    /// Smallest allowed value of a number or integer.
    public let minimum: Double
    /// Largest allowed value of a number or integer.
    public let maximum: Double

    /// Copies and checks a plugin's declaration.
    ///
    /// - Throws: `PluginError` for a short struct, a bad or reserved name, an unknown type, a
    ///   bad range or a default outside it.
    /// `raw` is the plugin's struct, of its own `struct_size` (read unaligned: lists may use any stride).
    init(_ raw: UnsafeRawPointer, plugin: String, criterion: String) throws(PluginError) {
        func fail(_ message: String) -> PluginError { PluginError(plugin: plugin, criterion: criterion, message) }
        let structSize = Int(raw.loadUnaligned(as: UInt32.self))
        guard structSize >= PluginABI.minimumParameterSize else {
            throw fail(
                "a parameter descriptor has struct_size \(structSize), smaller than the minimum \(PluginABI.minimumParameterSize)"
            )
        }
        let descriptor = PluginABI.copy(raw, structSize: structSize, into: shears_parameter_descriptor())
        guard let namePointer = descriptor.name else { throw fail("a parameter descriptor has no name") }
        let name = String(cString: namePointer)
        guard PluginNames.isParameterName(name) else {
            throw fail("parameter name '\(name)' is not lower_snake_case ([a-z][a-z0-9_]*)")
        }
        guard !Self.reservedNames.contains(name) else {
            throw fail("parameter name '\(name)' is reserved for the host's own step option")
        }
        self.name = name
        self.description = descriptor.description.map { String(cString: $0) } ?? ""
        minimum = descriptor.minimum
        maximum = descriptor.maximum
        let number = descriptor.default_number
        switch descriptor.type {
        case SHEARS_PARAMETER_NUMBER:
            kind = .number
            defaultValue = .number(number)
        case SHEARS_PARAMETER_INTEGER:
            kind = .integer
            guard number.isFinite, number.rounded() == number, abs(number) < 0x1p63 else {
                throw fail("parameter '\(name)' has a non-integral default \(number)")
            }
            defaultValue = .integer(Int64(number))
        case SHEARS_PARAMETER_BOOLEAN:
            kind = .boolean
            guard number == 0 || number == 1 else {
                throw fail("parameter '\(name)' has a boolean default \(number) (not 0 or 1)")
            }
            defaultValue = .boolean(number == 1)
        case SHEARS_PARAMETER_STRING:
            kind = .string
            defaultValue = .string(descriptor.default_string.map { String(cString: $0) } ?? "")
        default:
            throw fail("parameter '\(name)' has unknown type \(descriptor.type)")
        }
        if kind == .number || kind == .integer {
            guard !minimum.isNaN, !maximum.isNaN, minimum <= maximum else {
                throw fail("parameter '\(name)' has an empty range [\(minimum), \(maximum)]")
            }
            if let problem = rangeProblem(defaultValue) { throw fail("parameter '\(name)': default \(problem)") }
        }
    }

    /// Why `value` (already of this parameter's type) is outside the declared range, or nil.
    func rangeProblem(_ value: PluginParameterValue) -> String? {
        let number: Double
        switch value {
        case .number(let value):
            guard value.isFinite else { return "\(value) is not a finite number" }
            number = value
        case .integer(let value): number = Double(value)
        case .boolean, .string: return nil
        }
        guard number >= minimum, number <= maximum else { return "\(value) is outside [\(minimum), \(maximum)]" }
        return nil
    }
}

/// The spelling rules of ids and names in the ABI.
enum PluginNames {
    /// `[a-z0-9_.-]+`: criterion ids.
    static func isCriterionID(_ text: String) -> Bool {
        !text.isEmpty
            && text.utf8.allSatisfy { byte in
                (0x61...0x7A).contains(byte) || (0x30...0x39).contains(byte) || byte == 0x5F || byte == 0x2E
                    || byte == 0x2D
            }
    }

    /// `[a-z][a-z0-9_]*`: parameter names.
    static func isParameterName(_ text: String) -> Bool {
        guard let first = text.utf8.first, (0x61...0x7A).contains(first) else { return false }
        return text.utf8.allSatisfy { byte in
            (0x61...0x7A).contains(byte) || (0x30...0x39).contains(byte) || byte == 0x5F
        }
    }
}
