import PruningEngine

/// Checks of what a plugin wrote.
public enum PluginScoreCheck {
    /// The index of the first NaN in `scores`, or nil. One vectorised pass (16 lanes at a time).
    public static func firstNaN(_ scores: UnsafeBufferPointer<Float>) -> Int? {
        guard let base = scores.baseAddress else { return nil }
        let raw = UnsafeRawPointer(base)
        let count = scores.count
        var start = 0
        while start &+ 64 <= count {
            let a = raw.loadUnaligned(fromByteOffset: start &* 4, as: SIMD16<Float>.self)
            let b = raw.loadUnaligned(fromByteOffset: (start &+ 16) &* 4, as: SIMD16<Float>.self)
            let c = raw.loadUnaligned(fromByteOffset: (start &+ 32) &* 4, as: SIMD16<Float>.self)
            let d = raw.loadUnaligned(fromByteOffset: (start &+ 48) &* 4, as: SIMD16<Float>.self)
            if any((a .!= a) .| (b .!= b) .| (c .!= c) .| (d .!= d)) { break }
            start &+= 64
        }
        for index in start..<count where base[index].isNaN { return index }
        return nil
    }

    /// Why `mask` (one byte per weight, `rows × columns`) is not a valid selection for `sparsity`
    /// under `pattern`, or nil: every flag must be 0 or 1; an N:M pattern needs exactly `M − N`
    /// pruned in every group; an unstructured mask must prune exactly `rows · Int(columns · sparsity)`
    /// (per-row counts) or `Int(rows · columns · sparsity)` (one count per matrix) weights. A mask
    /// of another length, or an N:M group size that does not divide `columns`, is a problem too.
    public static func maskProblem(
        _ mask: UnsafeBufferPointer<UInt8>, rows: Int, columns: Int, sparsity: Double,
        pattern: SparsityPattern
    ) -> String? {
        guard rows >= 0, columns >= 0, mask.count == rows * columns else {
            return "the mask has \(mask.count) flags, not \(rows) × \(columns)"
        }
        if case .nm(let keep, let group) = pattern, group <= 0 || columns % group != 0 {
            return "N:M pattern \(keep):\(group) needs M to divide the input dimension \(columns)"
        }
        var pruned = 0
        for (index, flag) in mask.enumerated() {
            guard flag <= 1 else {
                return "flag \(flag) at row \(index / columns), column \(index % columns) is not 0 or 1"
            }
            pruned &+= Int(flag)
        }
        if case .nm(let keep, let group) = pattern {
            for row in 0..<rows {
                for start in stride(from: 0, to: columns, by: group) {
                    var count = 0
                    for column in start..<start + group { count &+= Int(mask[row &* columns &+ column]) }
                    if count != group - keep {
                        return
                            "group at row \(row), columns \(start)..<\(start + group) prunes \(count), not \(group - keep) (pattern \(pattern))"
                    }
                }
            }
            return nil
        }
        let perRow = rows * Int(Double(columns) * sparsity), perMatrix = Int(Double(rows * columns) * sparsity)
        guard pruned == perRow || pruned == perMatrix else {
            let expected = perRow == perMatrix ? "\(perRow)" : "\(perRow) (per row) or \(perMatrix) (per matrix)"
            return "prunes \(pruned) of \(rows * columns) weights, not \(expected) for sparsity \(sparsity)"
        }
        return nil
    }
}
