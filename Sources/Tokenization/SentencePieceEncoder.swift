/// Encodes text with a SentencePiece vocabulary as the `sentencepiece` library does: normalize
/// (optional removal of extra spaces, a `▁` dummy prefix, spaces escaped as `▁`), segment
/// (Unigram Viterbi or score-ordered BPE merges; user-defined pieces always whole), then unknown
/// text as `<0xXX>` byte pieces when the vocabulary has all 256 of them, else as one unknown
/// token per run.
struct SentencePieceEncoder: Sendable {
    private let kind: TokenizerKind
    private let scores: [Float]
    private let types: [TokenType]
    /// Normal and user-defined pieces (the ones text is segmented into).
    private let trie: PieceTrie
    /// BPE: the piece made by joining two adjacent pieces, by (left << 32 | right).
    private let joins: [UInt64: Int32]
    /// The ids of the 256 byte pieces, or nil without byte fallback.
    private let byteIDs: [Int32]?
    private let unknownID: Int32
    private let addSpacePrefix: Bool
    private let spacePrefixUnlessLeadingSpace: Bool
    private let removeExtraWhitespaces: Bool
    private let hasUserDefined: Bool
    /// Unigram: the lowest and highest normal-piece score, as sentencepiece computes them.
    private let minScore: Float, maxScore: Float
    /// Unigram: best path scores kept in Double (Hugging Face `tokenizers`) instead of Float (`sentencepiece`).
    private let doublePrecision: Bool

    /// The escaped space, `▁` (U+2581).
    static let space: [UInt8] = [0xE2, 0x96, 0x81]

    /// Builds the encoder, checking the vocabulary has what SentencePiece needs.
    init(_ vocabulary: BPEVocabulary) throws(TokenizerError) {
        let count = vocabulary.tokens.count
        guard vocabulary.scores.count == count else {
            throw TokenizerError("the vocabulary has \(count) pieces but \(vocabulary.scores.count) scores")
        }
        kind = vocabulary.kind
        scores = vocabulary.scores
        types = (0..<count).map { vocabulary.type(of: $0) }
        var trie = PieceTrie()
        var byteIDs = [Int32](repeating: -1, count: 256)
        var minScore = Float.greatestFiniteMagnitude, maxScore = Float.leastNormalMagnitude
        var unknownID = vocabulary.unknownID
        for (id, piece) in vocabulary.tokens.enumerated() {
            switch types[id] {
            case .normal, .userDefined:
                trie.insert(piece.utf8, id: Int32(id))
                if types[id] == .normal {
                    minScore = min(minScore, scores[id])
                    maxScore = max(maxScore, scores[id])
                }
            case .byte:
                if let byte = Self.byteValue(piece), byteIDs[Int(byte)] < 0 { byteIDs[Int(byte)] = Int32(id) }
            case .unknown:
                if unknownID == nil { unknownID = Int32(id) }
            case .control, .unused:
                break
            }
        }
        let hasAllBytes = byteIDs.allSatisfy { $0 >= 0 }
        guard unknownID != nil || hasAllBytes else {
            throw TokenizerError(
                "the SentencePiece vocabulary has no unknown piece (type 2), no unknown token id and no byte fallback")
        }
        self.trie = trie
        self.byteIDs = hasAllBytes ? byteIDs : nil
        self.unknownID = unknownID ?? -1
        self.minScore = minScore
        self.maxScore = maxScore
        hasUserDefined = types.contains(.userDefined)
        addSpacePrefix = vocabulary.addSpacePrefix
        spacePrefixUnlessLeadingSpace = vocabulary.spacePrefixUnlessLeadingSpace
        doublePrecision = vocabulary.unigramDoublePrecision
        removeExtraWhitespaces = vocabulary.removeExtraWhitespaces

        var joins: [UInt64: Int32] = [:]
        if kind == .sentencePieceBPE {
            var ids: [String: Int32] = [:]
            for (id, piece) in vocabulary.tokens.enumerated() where types[id] == .normal || types[id] == .userDefined {
                if ids[piece] == nil { ids[piece] = Int32(id) }
            }
            for (piece, id) in ids where piece.unicodeScalars.count > 1 {
                var split = piece.startIndex
                piece.formIndex(after: &split)
                while split < piece.endIndex {
                    if let left = ids[String(piece[..<split])], let right = ids[String(piece[split...])] {
                        joins[UInt64(UInt32(left)) << 32 | UInt64(UInt32(right))] = id
                    }
                    piece.unicodeScalars.formIndex(after: &split)
                }
            }
        }
        self.joins = joins
    }

    /// The byte a `<0xXX>` piece stands for.
    static func byteValue(_ piece: String) -> UInt8? {
        let utf8 = Array(piece.utf8)
        guard utf8.count == 6, utf8.starts(with: Array("<0x".utf8)), utf8[5] == UInt8(ascii: ">") else { return nil }
        return UInt8(String(decoding: utf8[3..<5], as: UTF8.self), radix: 16)
    }

    /// Appends the ids of `text` to `output`.
    func encode(_ text: UnsafeBufferPointer<UInt8>, into output: inout [Int32]) {
        let normalized = normalize(text)
        guard !normalized.isEmpty else { return }
        normalized.withUnsafeBufferPointer { bytes in
            let segments =
                kind != .sentencePieceUnigram
                ? merge(bytes) : doublePrecision ? viterbi(bytes, as: Double.self) : viterbi(bytes, as: Float.self)
            var previousUnknown = false
            for (range, id) in segments {
                let unknown = id < 0 || types[Int(id)] == .unknown
                if unknown, let byteIDs {
                    for position in range { output.append(byteIDs[Int(bytes[position])]) }
                } else if !(unknown && previousUnknown) {
                    output.append(unknown ? unknownID : id)
                }
                previousUnknown = unknown
            }
        }
    }

    /// SentencePiece's normalizer without a character map: spaces become `▁`, a `▁` goes first,
    /// and with `removeExtraWhitespaces` leading/trailing spaces go and runs of spaces become one.
    private func normalize(_ text: UnsafeBufferPointer<UInt8>) -> [UInt8] {
        var start = 0, end = text.count
        if removeExtraWhitespaces {
            while start < end && text[start] == 0x20 { start += 1 }
            while end > start && text[end - 1] == 0x20 { end -= 1 }
        }
        guard start < end else { return [] }
        var output: [UInt8] = []
        output.reserveCapacity((end - start) * 2 + 3)
        if addSpacePrefix && !(spacePrefixUnlessLeadingSpace && text[start] == 0x20) { output += Self.space }
        var previousSpace = false
        for position in start..<end {
            let byte = text[position]
            if byte == 0x20 {
                if !(removeExtraWhitespaces && previousSpace) { output += Self.space }
                previousSpace = true
            } else {
                output.append(byte)
                previousSpace = false
            }
        }
        return output
    }

    /// The length of the UTF-8 character starting with `byte` (1 for a stray continuation byte).
    private static func characterLength(_ byte: UInt8) -> Int {
        switch byte {
        case 0xF0...: 4
        case 0xE0...: 3
        case 0xC0...: 2
        default: 1
        }
    }

    /// The longest user-defined piece at `start`, or one character.
    private func symbolLength(_ bytes: UnsafeBufferPointer<UInt8>, at start: Int) -> (length: Int, frozen: Bool) {
        var longest = 0
        if hasUserDefined {
            trie.forEachPrefix(of: bytes, from: start) { end, id in
                if types[Int(id)] == .userDefined { longest = end - start }
            }
        }
        if longest > 0 { return (longest, true) }
        return (min(Self.characterLength(bytes[start]), bytes.count - start), false)
    }

    /// Unigram: the segmentation with the highest total score (unknown characters scored
    /// `minScore - 10`, user-defined pieces `length × maxScore - 0.1`), by `sentencepiece`'s
    /// optimized Viterbi: one best path per end position, offered the pieces starting at each
    /// character in turn (shorter first, the unknown character last) as the best path to their
    /// start plus their own score, and taking one only when strictly better. In `Float`, as
    /// `sentencepiece` 0.2.3, path scores beyond ±100,000 are brought back to 0 by subtracting
    /// the score at the current start from every position reached so far, so that long texts keep
    /// Float's precision (and its ties); in `Double`, as Hugging Face `tokenizers`, never.
    private func viterbi<Score: BinaryFloatingPoint>(
        _ bytes: UnsafeBufferPointer<UInt8>, as _: Score.Type
    ) -> [(Range<Int>, Int32)] {
        let size = bytes.count, rebases = Score.self == Float.self, bound: Score = 100_000
        // The best path ending at each position: its last piece's start (-1: none yet) and id,
        // and its score.
        var best = [(start: Int, id: Int32, score: Score)](repeating: (-1, -1, 0), count: size + 1)
        // The furthest position any piece has reached.
        var frontier = 0
        func offer(start: Int, end: Int, id: Int32, candidate: Score) {
            frontier = max(frontier, end)
            if best[end].start < 0 || candidate > best[end].score { best[end] = (start, id, candidate) }
        }
        let unknown = Score(minScore - 10)
        var start = 0
        while start < size {
            if rebases, abs(best[start].score) > bound {
                let offset = best[start].score
                for position in start...frontier where position == start || best[position].start >= 0 {
                    best[position].score -= offset
                }
            }
            let here = best[start].score
            let length = min(Self.characterLength(bytes[start]), size - start)
            var hasSingle = false
            trie.forEachPrefix(of: bytes, from: start) { end, id in
                let pieceLength = end - start
                let score =
                    types[Int(id)] == .userDefined
                    ? Score(Float(Double(Float(pieceLength) * maxScore) - 0.1)) : Score(scores[Int(id)])
                offer(start: start, end: end, id: id, candidate: here + score)
                if pieceLength == length { hasSingle = true }
            }
            if !hasSingle { offer(start: start, end: start + length, id: -1, candidate: here + unknown) }
            start += length
        }
        var segments: [(Range<Int>, Int32)] = []
        var end = size
        while end > 0 {
            let node = best[end]
            segments.append((node.start..<end, node.id))
            end = node.start
        }
        return segments.reversed()
    }

    /// BPE: start from characters (user-defined pieces whole and frozen), then repeatedly join
    /// the adjacent pair whose joined piece scores highest (leftmost on ties).
    private func merge(_ bytes: UnsafeBufferPointer<UInt8>) -> [(Range<Int>, Int32)] {
        var starts: [Int] = [], ends: [Int] = [], ids: [Int32] = [], frozen: [Bool] = []
        var position = 0
        while position < bytes.count {
            let (length, isFrozen) = symbolLength(bytes, at: position)
            starts.append(position)
            ends.append(position + length)
            ids.append(trie.id(of: bytes, position..<position + length) ?? -1)
            frozen.append(isFrozen)
            position += length
        }
        let count = ids.count
        var next = Array(1...count), previous = Array(-1..<(count - 1))
        next[count - 1] = -1
        var heap = MinHeap<PairCandidate>()
        func push(_ left: Int) {
            guard left >= 0 else { return }
            let right = next[left]
            guard right >= 0, !frozen[left], !frozen[right], ids[left] >= 0, ids[right] >= 0,
                let joined = joins[UInt64(UInt32(ids[left])) << 32 | UInt64(UInt32(ids[right]))]
            else { return }
            heap.push(.init(score: scores[Int(joined)], left: left, leftID: ids[left], rightID: ids[right]))
        }
        for index in 0..<count - 1 { push(index) }
        while let top = heap.pop() {
            let left = top.left, right = next[left]
            guard ids[left] == top.leftID, right >= 0, ids[right] == top.rightID,
                let joined = joins[UInt64(UInt32(top.leftID)) << 32 | UInt64(UInt32(top.rightID))]
            else { continue }
            ids[left] = joined
            ends[left] = ends[right]
            ids[right] = -2
            next[left] = next[right]
            if next[right] >= 0 { previous[next[right]] = left }
            push(previous[left])
            push(left)
        }
        var segments: [(Range<Int>, Int32)] = []
        var index = 0
        while index >= 0 {
            segments.append((starts[index]..<ends[index], ids[index]))
            index = next[index]
        }
        return segments
    }
}

/// A candidate BPE join; the heap takes the highest score first, then the leftmost.
private struct PairCandidate: Comparable {
    var score: Float
    var left: Int
    var leftID: Int32, rightID: Int32

    /// Whether `lhs` is taken before `rhs`.
    static func < (lhs: Self, rhs: Self) -> Bool {
        lhs.score > rhs.score || (lhs.score == rhs.score && lhs.left < rhs.left)
    }
}
