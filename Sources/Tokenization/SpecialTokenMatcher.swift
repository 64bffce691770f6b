/// Finds whole special tokens (control or user-defined) in text, leftmost-longest, so that they
/// are emitted as single ids and the text between them is tokenized separately.
struct SpecialTokenMatcher: Sendable {
    /// A piece of the text: ordinary text to pre-tokenize, or one special token.
    enum Fragment: Equatable {
        case text(Range<Int>)
        case token(Int32)
    }

    /// The candidate tokens by their first byte, longest first.
    private let candidates: [[(bytes: [UInt8], id: Int32)]]

    /// Whether there is nothing to look for.
    var isEmpty: Bool { candidates.allSatisfy(\.isEmpty) }

    /// A matcher for the given tokens (empty strings are ignored).
    init(_ tokens: [(text: String, id: Int32)]) {
        var candidates = [[(bytes: [UInt8], id: Int32)]](repeating: [], count: 256)
        for (text, id) in tokens where !text.isEmpty {
            let bytes = Array(text.utf8)
            candidates[Int(bytes[0])].append((bytes, id))
        }
        for index in candidates.indices { candidates[index].sort { $0.bytes.count > $1.bytes.count } }
        self.candidates = candidates
    }

    /// Splits `bytes` into text fragments and special tokens, in order.
    func fragments(of bytes: UnsafeBufferPointer<UInt8>) -> [Fragment] {
        var result: [Fragment] = []
        var textStart = 0, position = 0
        while position < bytes.count {
            let match = candidates[Int(bytes[position])].first { candidate in
                candidate.bytes.count <= bytes.count - position
                    && candidate.bytes.withUnsafeBufferPointer { token in
                        token.indices.allSatisfy { token[$0] == bytes[position + $0] }
                    }
            }
            guard let match else {
                position += 1
                continue
            }
            if textStart < position { result.append(.text(textStart..<position)) }
            result.append(.token(match.id))
            position += match.bytes.count
            textStart = position
        }
        if textStart < bytes.count { result.append(.text(textStart..<bytes.count)) }
        return result
    }
}
