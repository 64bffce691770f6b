/// Encodes pre-tokenizer words to ids by BPE: start from one token per byte, then repeatedly
/// apply the lowest-ranked merge rule among adjacent pairs (leftmost first on ties). A byte
/// without a token (some vocabularies lack control bytes) is dropped, as Hugging Face does.
///
/// With `wholeWords` (Hugging Face `ignore_merges`), a word that is itself a token becomes that
/// token directly. Holds scratch buffers and a word → ids cache, so one encoder serves one `encode` call.
struct WordEncoder {
    private let merges: MergeTable
    private let byteTokens: [Int32]
    private let wholeWords: [String: Int32]?
    private var cache: [[UInt8]: [Int32]] = [:]
    private var symbols: [Int32] = [], next: [Int32] = [], previous: [Int32] = []
    private var heap = MinHeap<UInt64>()

    /// Creates an encoder for the merge rules and the id of each byte's token (-1 for none); `wholeWords` maps
    /// byte-level token strings to ids when words that are tokens skip the merges.
    init(merges: MergeTable, byteTokens: [Int32], wholeWords: [String: Int32]?) {
        self.merges = merges
        self.byteTokens = byteTokens
        self.wholeWords = wholeWords
    }

    /// Appends the ids of the word `bytes` to `output`.
    mutating func encode(_ bytes: UnsafeBufferPointer<UInt8>, into output: inout [Int32]) {
        if bytes.count == 1 {
            let id = byteTokens[Int(bytes[0])]
            if id >= 0 { output.append(id) }
            return
        }
        let key = Array(bytes)
        if let cached = cache[key] {
            output.append(contentsOf: cached)
            return
        }
        let start = output.count
        if let id = wholeWords?[ByteLevelAlphabet.string(for: bytes)] {
            output.append(id)
        } else {
            merge(bytes, into: &output)
        }
        cache[key] = Array(output[start...])
    }

    /// Runs the BPE merges on one word.
    private mutating func merge(_ bytes: UnsafeBufferPointer<UInt8>, into output: inout [Int32]) {
        symbols.removeAll(keepingCapacity: true)
        next.removeAll(keepingCapacity: true)
        previous.removeAll(keepingCapacity: true)
        heap.removeAll(keepingCapacity: true)
        for byte in bytes where byteTokens[Int(byte)] >= 0 {
            symbols.append(byteTokens[Int(byte)])
            previous.append(Int32(symbols.count - 2))
            next.append(Int32(symbols.count))
        }
        guard !symbols.isEmpty else { return }
        next[symbols.count - 1] = -1
        for index in 0..<symbols.count - 1 { pushPair(at: index) }
        while let top = heap.pop() {
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
        heap.push(rule & 0xFFFF_FFFF_0000_0000 | UInt64(left))
    }
}
