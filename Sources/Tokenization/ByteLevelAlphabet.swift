/// GPT-2's reversible mapping between bytes and printable Unicode scalars.
///
/// Byte-level BPE vocabularies store every token as a string over this 256-character alphabet:
/// printable Latin-1 bytes map to themselves, the others (control characters, space, ...) to
/// scalars from U+0100 upward, in byte order.
public enum ByteLevelAlphabet {
    /// The scalar that stands for each byte, indexed by byte value.
    public static let scalars: [Unicode.Scalar] = {
        var result = [Unicode.Scalar](repeating: " ", count: 256)
        var next: UInt32 = 256
        for byte in 0..<256 {
            let printable = (33...126).contains(byte) || (161...172).contains(byte) || (174...255).contains(byte)
            if printable {
                result[byte] = Unicode.Scalar(UInt8(byte))
            } else {
                result[byte] = Unicode.Scalar(next)!
                next += 1
            }
        }
        return result
    }()

    /// The byte each alphabet scalar stands for (the inverse of `scalars`).
    public static let bytes: [Unicode.Scalar: UInt8] = {
        Dictionary(uniqueKeysWithValues: scalars.enumerated().map { ($1, UInt8($0)) })
    }()

    /// Encodes raw bytes as an alphabet string.
    public static func string(for bytes: some Sequence<UInt8>) -> String {
        var view = String.UnicodeScalarView()
        for byte in bytes { view.append(scalars[Int(byte)]) }
        return String(view)
    }
}
