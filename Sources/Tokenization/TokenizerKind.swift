/// The tokenization algorithm a vocabulary is for.
public enum TokenizerKind: String, Sendable, Equatable {
    /// GPT-2 style byte-level BPE with ranked merge rules (GGUF `tokenizer.ggml.model = gpt2`).
    case byteLevelBPE = "gpt2"
    /// SentencePiece BPE: adjacent pieces merged by the score of the merged piece, bytes as
    /// `<0xXX>` pieces for text the vocabulary lacks (GGUF `llama`, llama.cpp's SPM tokenizer).
    case sentencePieceBPE = "llama"
    /// SentencePiece Unigram: the best-scoring segmentation by Viterbi (GGUF `t5`, llama.cpp's UGM tokenizer).
    case sentencePieceUnigram = "t5"

    /// The name GGUF's `tokenizer.ggml.model` gives it.
    public var ggufName: String { rawValue }

    /// Whether it is one of the SentencePiece algorithms (`▁` for spaces, scores, byte pieces).
    public var isSentencePiece: Bool { self != .byteLevelBPE }
}
