import JSON

/// How each of our pre-tokenizers is written in a Hugging Face `tokenizer.json`.
extension PreTokenizer {
    /// The Llama 3 split regex as Hugging Face writes it.
    static let llama3Regex =
        #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#
    /// The Qwen 2 split regex as Hugging Face writes it.
    static let qwen2Regex =
        #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#

    /// Whether a word that is itself a token skips the merges (Hugging Face `ignore_merges`).
    public var ignoresMerges: Bool { self == .llamaBPE }

    /// The `pre_tokenizer` section, as compact JSON.
    var huggingFaceJSON: String {
        let byteLevelWithRegex = #"{"type":"ByteLevel","add_prefix_space":false,"trim_offsets":true,"use_regex":true}"#
        let byteLevelAlone = #"{"type":"ByteLevel","add_prefix_space":false,"trim_offsets":true,"use_regex":false}"#
        func split(_ regex: String) -> String {
            #"{"type":"Split","pattern":{"Regex":"# + JSONWriter.quoted(regex)
                + #"},"behavior":"Isolated","invert":false}"#
        }
        return switch self {
        case .gpt2: byteLevelWithRegex
        case .smollm:
            #"{"type":"Sequence","pretokenizers":[{"type":"Digits","individual_digits":true},"# + byteLevelWithRegex
                + "]}"
        case .llamaBPE: #"{"type":"Sequence","pretokenizers":["# + split(Self.llama3Regex) + "," + byteLevelAlone + "]}"
        case .qwen2: #"{"type":"Sequence","pretokenizers":["# + split(Self.qwen2Regex) + "," + byteLevelAlone + "]}"
        }
    }

    /// Recognises a Hugging Face `pre_tokenizer` section as one of ours.
    init(huggingFace section: JSONValue) throws(TokenizerError) {
        var steps = [section]
        if section["type"]?.string == "Sequence", let inner = section["pretokenizers"]?.array { steps = inner }
        func isByteLevel(_ step: JSONValue, regex: Bool) -> Bool {
            step["type"]?.string == "ByteLevel" && step["add_prefix_space"]?.bool != true
                && (step["use_regex"]?.bool ?? true) == regex
        }
        func splitRegex(_ step: JSONValue) -> String? {
            guard step["type"]?.string == "Split", step["behavior"]?.string == "Isolated",
                step["invert"]?.bool != true
            else { return nil }
            return step["pattern"]?["Regex"]?.string
        }
        switch steps.count {
        case 1 where isByteLevel(steps[0], regex: true):
            self = .gpt2
            return
        case 2
        where steps[0]["type"]?.string == "Digits" && steps[0]["individual_digits"]?.bool == true
            && isByteLevel(steps[1], regex: true):
            self = .smollm
            return
        case 2 where isByteLevel(steps[1], regex: false):
            switch splitRegex(steps[0]) {
            case Self.llama3Regex:
                self = .llamaBPE
                return
            case Self.qwen2Regex:
                self = .qwen2
                return
            default: break
            }
        default: break
        }
        throw TokenizerError(
            "pre_tokenizer \(section.summary) is not one we can reproduce (we support GPT-2 ByteLevel, "
                + "SmolLM Digits+ByteLevel, and the Llama 3 and Qwen 2 Split regexes + ByteLevel, without add_prefix_space)"
        )
    }
}
