/// The bytes each token stands for, flattened into one buffer: byte-level tokens mapped back
/// through `ByteLevelAlphabet`, user-defined and control tokens as their plain UTF-8 text.
struct TokenPieces: Sendable {
    private let bytes: [UInt8]
    private let offsets: [Int]

    /// Computes the pieces of every token of `vocabulary`.
    init(_ vocabulary: BPEVocabulary) {
        var bytes: [UInt8] = [], offsets = [0]
        offsets.reserveCapacity(vocabulary.tokens.count + 1)
        for (id, token) in vocabulary.tokens.enumerated() {
            switch vocabulary.type(of: id) {
            case .userDefined, .control:
                bytes.append(contentsOf: token.utf8)
            default:
                for scalar in token.unicodeScalars {
                    if let byte = ByteLevelAlphabet.bytes[scalar] {
                        bytes.append(byte)
                    } else {
                        bytes.append(contentsOf: String(scalar).utf8)
                    }
                }
            }
            offsets.append(bytes.count)
        }
        self.bytes = bytes
        self.offsets = offsets
    }

    /// Appends the bytes of token `id` (in range) to `output`.
    func append(_ id: Int32, to output: inout [UInt8]) {
        output.append(contentsOf: bytes[offsets[Int(id)]..<offsets[Int(id) + 1]])
    }
}
