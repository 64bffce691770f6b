/// BPE merge rules as integer pairs: (left id, right id) → (rank, merged id).
struct MergeTable: Sendable {
    /// Packed `left << 32 | right` → packed `rank << 32 | merged`.
    private let rules: [UInt64: UInt64]

    /// Resolves `"left right"` merge strings against the token ids.
    init(merges: [String], ids: [String: Int32]) throws(TokenizerError) {
        var rules: [UInt64: UInt64] = [:]
        rules.reserveCapacity(merges.count)
        for (rank, merge) in merges.enumerated() {
            let scalars = merge.unicodeScalars
            // The separator is the first space after the first character (a part never starts with one).
            guard !scalars.isEmpty, let space = scalars[scalars.index(after: scalars.startIndex)...].firstIndex(of: " ") else {
                throw TokenizerError("merge \(rank) '\(merge)' is not two tokens separated by a space")
            }
            let left = String(scalars[..<space]), right = String(scalars[scalars.index(after: space)...])
            guard let leftID = ids[left], let rightID = ids[right] else {
                throw TokenizerError("merge \(rank) '\(merge)' uses a token that is not in the vocabulary")
            }
            guard let mergedID = ids[left + right] else {
                throw TokenizerError("merge \(rank) '\(merge)' makes '\(left + right)', which is not in the vocabulary")
            }
            let key = UInt64(UInt32(leftID)) << 32 | UInt64(UInt32(rightID))
            if rules[key] == nil { rules[key] = UInt64(rank) << 32 | UInt64(UInt32(mergedID)) }
        }
        self.rules = rules
    }

    /// The packed `rank << 32 | merged` of the rule for a pair, if there is one.
    @inline(__always)
    func rule(_ left: Int32, _ right: Int32) -> UInt64? {
        rules[UInt64(UInt32(left)) << 32 | UInt64(UInt32(right))]
    }
}
