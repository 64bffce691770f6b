/// Ordered GGUF key/value metadata.
///
/// Keeps the file's key order (so a round trip writes keys back in the same order) and gives
/// dictionary look-up by key.
public struct GGUFMetadata: Sendable, Equatable, Sequence {
    /// The entries in file order.
    public private(set) var entries: [(key: String, value: GGUFValue)] = []
    private var index: [String: Int] = [:]

    /// Creates empty metadata.
    public init() {}

    /// Creates metadata from entries in order; a repeated key keeps its last value.
    public init(_ entries: [(String, GGUFValue)]) {
        for (key, value) in entries { self[key] = value }
    }

    /// The value for `key`; assigning `nil` removes the key, assigning a new key appends it.
    public subscript(key: String) -> GGUFValue? {
        get { index[key].map { entries[$0].value } }
        set {
            if let position = index[key] {
                if let newValue {
                    entries[position].value = newValue
                } else {
                    entries.remove(at: position)
                    index = Dictionary(uniqueKeysWithValues: entries.enumerated().map { ($1.key, $0) })
                }
            } else if let newValue {
                index[key] = entries.count
                entries.append((key, newValue))
            }
        }
    }

    /// Number of keys.
    public var count: Int { entries.count }

    /// The keys in file order.
    public var keys: [String] { entries.map(\.key) }

    /// Iterates the entries in file order.
    public func makeIterator() -> IndexingIterator<[(key: String, value: GGUFValue)]> {
        entries.makeIterator()
    }

    /// Equal when both hold the same entries in the same order.
    public static func == (lhs: GGUFMetadata, rhs: GGUFMetadata) -> Bool {
        lhs.entries.count == rhs.entries.count
            && zip(lhs.entries, rhs.entries).allSatisfy { $0.key == $1.key && $0.value == $1.value }
    }
}
