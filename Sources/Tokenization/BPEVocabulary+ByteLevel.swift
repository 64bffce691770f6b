extension BPEVocabulary {
    /// A GPT-2 byte-level vocabulary of exactly `size` tokens (at least 257) for synthetic and
    /// test models: the 256 byte tokens, up to ten common English merges, unused
    /// `<|extra_N|>` fillers, and `<|endoftext|>` (control; BOS and EOS) last.
    public static func byteLevel(size: Int) -> BPEVocabulary {
        precondition(size >= 257, "a byte-level vocabulary needs at least 257 tokens")
        var tokens = ByteLevelAlphabet.scalars.map { String($0) }
        var merges: [String] = []
        let pairs = ["t h", "th e", "Ġ t", "Ġt he", "i n", "a n", "e r", "o n", "Ġ a", "r e"]
        for pair in pairs where tokens.count < size - 1 {
            merges.append(pair)
            tokens.append(pair.filter { $0 != " " })
        }
        while tokens.count < size - 1 { tokens.append("<|extra_\(tokens.count)|>") }
        tokens.append("<|endoftext|>")
        var types = [Int32](repeating: 1, count: tokens.count)
        types[types.count - 1] = 3
        return BPEVocabulary(
            tokens: tokens, merges: merges, tokenTypes: types, preTokenizer: "gpt-2",
            bosID: Int32(size - 1), eosID: Int32(size - 1), addBOS: false)
    }
}
