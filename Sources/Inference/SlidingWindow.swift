/// Sliding-window attention (Mistral): a query at position `p` sees keys `p − window + 1 ... p`
/// only. Applied to raw scores before the causal softmax, which gives the hidden keys zero weight.
enum SlidingWindow {
    /// Sets to −∞ the scores of keys older than `window` positions: `rows × group` stacked rows of
    /// `scores` (row stride `stride`, position-major with `group` rows per position), the first
    /// position being `firstPosition`. Does nothing without a window.
    static func mask(
        _ scores: UnsafeMutablePointer<Float>, rows: Int, group: Int, stride: Int, firstPosition: Int, window: Int?
    ) {
        guard let window else { return }
        for r in 0..<rows {
            let hidden = firstPosition + r - window + 1
            guard hidden > 0 else { continue }
            for j in 0..<group {
                (scores + (r * group + j) * stride).update(repeating: -.infinity, count: hidden)
            }
        }
    }
}
