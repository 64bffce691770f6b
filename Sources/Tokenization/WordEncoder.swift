/// Encodes pre-tokenizer words to ids by BPE: start from one token per byte, then repeatedly
/// apply the lowest-ranked merge rule among adjacent pairs (leftmost first on ties).
///
/// Holds scratch buffers and a word → ids cache, so one encoder serves one `encode` call.
struct WordEncoder {
    private let merges: MergeTable
    private let byteTokens: [Int32]
    private var cache: [[UInt8]: [Int32]] = [:]
    private var symbols: [Int32] = [], next: [Int32] = [], previous: [Int32] = []
    private var heap: [UInt64] = []

    /// Creates an encoder for the merge rules and the id of each byte's token.
    init(merges: MergeTable, byteTokens: [Int32]) {
        self.merges = merges
        self.byteTokens = byteTokens
    }

    /// Appends the ids of the word `bytes` to `output`.
    mutating func encode(_ bytes: UnsafeBufferPointer<UInt8>, into output: inout [Int32]) {
        if bytes.count == 1 {
            output.append(byteTokens[Int(bytes[0])])
            return
        }
        let key = Array(bytes)
        if let cached = cache[key] {
            output.append(contentsOf: cached)
            return
        }
        let start = output.count
        merge(bytes, into: &output)
        cache[key] = Array(output[start...])
    }

    /// Runs the BPE merges on one word.
    private mutating func merge(_ bytes: UnsafeBufferPointer<UInt8>, into output: inout [Int32]) {
        let count = bytes.count
        symbols.removeAll(keepingCapacity: true)
        next.removeAll(keepingCapacity: true)
        previous.removeAll(keepingCapacity: true)
        heap.removeAll(keepingCapacity: true)
        for (index, byte) in bytes.enumerated() {
            symbols.append(byteTokens[Int(byte)])
            next.append(index + 1 < count ? Int32(index + 1) : -1)
            previous.append(Int32(index - 1))
        }
        for index in 0..<count - 1 { pushPair(at: index) }
        while let top = popMin() {
            let left = Int(top & 0xFFFF_FFFF), rank = top >> 32
            guard symbols[left] >= 0, next[left] >= 0 else { continue }
            let right = Int(next[left])
            guard let rule = merges.rule(symbols[left], symbols[right]), rule >> 32 == rank else { continue }
            symbols[left] = Int32(truncatingIfNeeded: rule & 0xFFFF_FFFF)
            symbols[right] = -1
            next[left] = next[right]
            if next[right] >= 0 { previous[Int(next[right])] = Int32(left) }
            if previous[left] >= 0 { pushPair(at: Int(previous[left])) }
            pushPair(at: left)
        }
        for symbol in symbols where symbol >= 0 { output.append(symbol) }
    }

    /// Queues the pair starting at symbol `left` if a rule merges it.
    private mutating func pushPair(at left: Int) {
        let right = next[left]
        guard right >= 0, let rule = merges.rule(symbols[left], symbols[Int(right)]) else { return }
        heap.append(rule & 0xFFFF_FFFF_0000_0000 | UInt64(left))
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            if heap[parent] <= heap[child] { break }
            heap.swapAt(parent, child)
            child = parent
        }
    }

    /// Removes and returns the smallest `rank << 32 | position` entry.
    private mutating func popMin() -> UInt64? {
        guard let last = heap.popLast() else { return nil }
        guard !heap.isEmpty else { return last }
        let top = heap[0]
        heap[0] = last
        var parent = 0
        while true {
            let left = 2 * parent + 1, right = left + 1
            var smallest = parent
            if left < heap.count && heap[left] < heap[smallest] { smallest = left }
            if right < heap.count && heap[right] < heap[smallest] { smallest = right }
            if smallest == parent { break }
            heap.swapAt(parent, smallest)
            parent = smallest
        }
        return top
    }
}
