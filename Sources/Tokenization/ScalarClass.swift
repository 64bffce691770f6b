/// The Unicode classes the byte-level pre-tokenizer regexes distinguish: `\p{L}`, `\p{N}`, `\s`.
struct ScalarClass: OptionSet, Sendable {
    let rawValue: UInt8

    /// General category L* (`\p{L}`).
    static let letter = ScalarClass(rawValue: 1)
    /// General category Nd, Nl or No (`\p{N}`).
    static let number = ScalarClass(rawValue: 2)
    /// The Unicode White_Space property (`\s`).
    static let whitespace = ScalarClass(rawValue: 4)

    /// The class of a scalar value; ASCII is answered from a table.
    static func of(_ value: UInt32) -> ScalarClass {
        if value < 128 { return ScalarClass(rawValue: asciiTable[Int(value)]) }
        guard let scalar = Unicode.Scalar(value) else { return [] }
        return computed(scalar)
    }

    /// The ASCII classes, indexed by code point.
    private static let asciiTable: [UInt8] = (0..<128).map { computed(Unicode.Scalar(UInt8($0))).rawValue }

    /// Looks the class up in the Unicode properties.
    private static func computed(_ scalar: Unicode.Scalar) -> ScalarClass {
        let properties = scalar.properties
        var result: ScalarClass = []
        switch properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter:
            result.insert(.letter)
        case .decimalNumber, .letterNumber, .otherNumber:
            result.insert(.number)
        default:
            break
        }
        if properties.isWhitespace { result.insert(.whitespace) }
        return result
    }
}
