/// BPE merge rules as integer pairs: (left id, right id) → (rank, merged id).
struct MergeTable: Sendable {
    /// Packed `left << 32 | right` → packed `rank << 32 | merged`.
    private let rules: [UInt64: UInt64]

    /// Resolves `"left right"` merge strings against the token ids. A rule that names a token the
    /// vocabulary lacks, or makes one, can never apply, so it is left out (llama.cpp behaves the same).
    init(merges: [String], ids: [String: Int32]) throws(TokenizerError) {
        var rules: [UInt64: UInt64] = [:]
        rules.reserveCapacity(merges.count)
        for (rank, merge) in merges.enumerated() {
            let (left, right) = try Self.split(merge, rank: rank)
            guard let leftID = ids[left], let rightID = ids[right], let mergedID = ids[left + right] else { continue }
            let key = UInt64(UInt32(leftID)) << 32 | UInt64(UInt32(rightID))
            if rules[key] == nil { rules[key] = UInt64(rank) << 32 | UInt64(UInt32(mergedID)) }
        }
        self.rules = rules
    }

    /// The two tokens of merge rule `rank`, split at the first space after the first character.
    static func split(_ merge: String, rank: Int) throws(TokenizerError) -> (String, String) {
        let scalars = merge.unicodeScalars
        guard !scalars.isEmpty, let space = scalars[scalars.index(after: scalars.startIndex)...].firstIndex(of: " "),
            scalars.index(after: space) < scalars.endIndex
        else {
            throw TokenizerError("merge \(rank) '\(merge)' is not two tokens separated by a space")
        }
        return (String(scalars[..<space]), String(scalars[scalars.index(after: space)...]))
    }

    /// The packed `rank << 32 | merged` of the rule for a pair, if there is one.
    @inline(__always)
    func rule(_ left: Int32, _ right: Int32) -> UInt64? {
        rules[UInt64(UInt32(left)) << 32 | UInt64(UInt32(right))]
    }
}
