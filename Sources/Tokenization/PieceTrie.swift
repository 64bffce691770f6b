/// A byte trie over SentencePiece pieces, for the prefix matches Unigram's Viterbi and the
/// user-defined-symbol matching need.
struct PieceTrie: Sendable {
    /// Child node of (node << 8 | byte).
    private var children: [Int: Int32] = [:]
    /// The piece id ending at each node, or -1.
    private var ids: [Int32] = [-1]

    /// Adds `piece` with `id` (the first id wins for a repeated piece).
    mutating func insert(_ piece: some Sequence<UInt8>, id: Int32) {
        var node = 0
        for byte in piece {
            let key = node << 8 | Int(byte)
            if let child = children[key] {
                node = Int(child)
            } else {
                ids.append(-1)
                children[key] = Int32(ids.count - 1)
                node = ids.count - 1
            }
        }
        if ids[node] < 0 { ids[node] = id }
    }

    /// Calls `body(end, id)` for each piece that `bytes[start...]` starts with, shortest first.
    func forEachPrefix(
        of bytes: UnsafeBufferPointer<UInt8>, from start: Int, _ body: (_ end: Int, _ id: Int32) -> Void
    ) {
        var node = 0, position = start
        while position < bytes.count, let child = children[node << 8 | Int(bytes[position])] {
            node = Int(child)
            position += 1
            if ids[node] >= 0 { body(position, ids[node]) }
        }
    }

    /// The id of exactly `bytes[range]`, if it is a piece.
    func id(of bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> Int32? {
        var node = 0
        for position in range {
            guard let child = children[node << 8 | Int(bytes[position])] else { return nil }
            node = Int(child)
        }
        return ids[node] >= 0 ? ids[node] : nil
    }
}
