/// How the zeros of a pruned matrix are laid out.
///
/// `nm(keep: N, group: M)` is the sparse-hardware convention: at most N nonzero weights in every M
/// consecutive weights along the input dimension (a row of `[out, in]`). The research code
/// (`--prunen/--prunem`, "2:4") counts the *pruned* weights instead; the two agree for 2:4 and 4:8.
public enum SparsityPattern: Sendable, Equatable, CustomStringConvertible {
    /// Any layout.
    case unstructured
    /// At most `keep` nonzeros in every aligned group of `group` input columns.
    case nm(keep: Int, group: Int)

    /// Parses `"unstructured"` or `"N:M"` (`0 < N < M ≤ 64`).
    ///
    /// - Throws: `PruneError` for any other string.
    public init(parsing text: String) throws(PruneError) {
        if text == "unstructured" {
            self = .unstructured
            return
        }
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, let keep = Int(parts[0]), let group = Int(parts[1]) else {
            throw PruneError(
                "unknown sparsity pattern \"\(text)\" (expected \"unstructured\" or \"N:M\", e.g. \"2:4\")")
        }
        self = try Self.checked(keep: keep, group: group)
    }

    /// An N:M pattern after checking `0 < keep < group ≤ 64`.
    ///
    /// - Throws: `PruneError` otherwise.
    public static func checked(keep: Int, group: Int) throws(PruneError) -> SparsityPattern {
        guard keep >= 1, keep < group, group <= 64 else {
            throw PruneError("N:M pattern \(keep):\(group) needs 0 < N < M ≤ 64")
        }
        return .nm(keep: keep, group: group)
    }

    /// This pattern after the checks of `checked(keep:group:)` (a case built directly may be invalid).
    ///
    /// - Throws: `PruneError` for an N:M pattern without `0 < N < M ≤ 64`.
    public func validated() throws(PruneError) -> SparsityPattern {
        if case .nm(let keep, let group) = self { return try Self.checked(keep: keep, group: group) }
        return self
    }

    /// Weights pruned per group (`M - N`), or nil when unstructured.
    public var prunedPerGroup: Int? {
        if case .nm(let keep, let group) = self { group - keep } else { nil }
    }

    /// The sparsity this pattern implies (`1 - N/M`), or nil when unstructured.
    public var impliedSparsity: Double? {
        if case .nm(let keep, let group) = self { 1 - Double(keep) / Double(group) } else { nil }
    }

    /// `"unstructured"` or `"N:M"`.
    public var description: String {
        switch self {
        case .unstructured: "unstructured"
        case .nm(let keep, let group): "\(keep):\(group)"
        }
    }

    /// Checks that a matrix called `name` with `columns` inputs can take this pattern.
    ///
    /// - Throws: `PruneError` when the group size does not divide `columns`.
    public func validate(columns: Int, name: String) throws(PruneError) {
        if case .nm(let keep, let group) = self, columns % group != 0 {
            throw PruneError("\(name): N:M pattern \(keep):\(group) needs M to divide the input dimension \(columns)")
        }
    }
}
