/// The bytes each token stands for, flattened into one buffer: byte-level tokens mapped back
/// through `ByteLevelAlphabet`, user-defined and control tokens as their plain UTF-8 text;
/// SentencePiece pieces with `▁` as a space, `<0xXX>` pieces as their byte, the unknown piece as
/// ` ⁇ ` (as `sentencepiece` decodes it).
struct TokenPieces: Sendable {
    private let bytes: [UInt8]
    private let offsets: [Int]

    /// Computes the pieces of every token of `vocabulary`.
    init(_ vocabulary: BPEVocabulary) {
        var bytes: [UInt8] = [], offsets = [0]
        offsets.reserveCapacity(vocabulary.tokens.count + 1)
        let space = Array("▁".utf8)
        for (id, token) in vocabulary.tokens.enumerated() {
            let type = vocabulary.type(of: id)
            if vocabulary.kind.isSentencePiece && type != .control {
                if type == .byte, let byte = SentencePieceEncoder.byteValue(token) {
                    bytes.append(byte)
                } else if type == .unknown {
                    bytes.append(contentsOf: " \u{2047} ".utf8)
                } else {
                    let utf8 = Array(token.utf8)
                    var index = 0
                    while index < utf8.count {
                        if utf8[index...].starts(with: space) {
                            bytes.append(0x20)
                            index += space.count
                        } else {
                            bytes.append(utf8[index])
                            index += 1
                        }
                    }
                }
                offsets.append(bytes.count)
                continue
            }
            switch type {
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
