/// A glob on tensor names: `*` matches any run of characters (dots included), `?` one character,
/// everything else itself (`blk.*.ffn_*`, `blk.0.*`, `*attn_q*`).
public struct TensorNamePattern: Sendable, Equatable, CustomStringConvertible {
    /// The glob as written.
    public let text: String
    private let characters: [Character]

    /// Wraps the glob `text`.
    public init(_ text: String) {
        self.text = text
        characters = Array(text)
    }

    /// The glob as written.
    public var description: String { text }

    /// Whether `name` matches the whole glob.
    public func matches(_ name: String) -> Bool {
        let name = Array(name)
        // Greedy matching with backtracking to the last star: linear for the usual globs.
        var p = 0, n = 0
        var star: Int?, resume = 0
        while n < name.count {
            if p < characters.count, characters[p] == "?" || characters[p] == name[n] {
                p += 1
                n += 1
            } else if p < characters.count, characters[p] == "*" {
                star = p
                resume = n
                p += 1
            } else if let star {
                p = star + 1
                resume += 1
                n = resume
            } else {
                return false
            }
        }
        while p < characters.count, characters[p] == "*" { p += 1 }
        return p == characters.count
    }
}
