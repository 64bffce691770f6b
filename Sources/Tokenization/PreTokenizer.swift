/// The byte-level pre-tokenizers: each splits text into the words that BPE then merges within,
/// reproducing one of the regexes of llama.cpp / Hugging Face `tokenizers` exactly.
///
/// They are hand-written scanners over Unicode scalars (no regex engine), so splitting a
/// megabyte of text takes milliseconds.
public enum PreTokenizer: String, Sendable, CaseIterable {
    /// GPT-2: `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`.
    /// Named `gpt-2` as llama.cpp spells it (it refuses `gpt2` in `tokenizer.ggml.pre`).
    case gpt2 = "gpt-2"
    /// SmolLM / StarCoder: every `\p{N}` on its own, then the GPT-2 regex between them.
    case smollm
    /// Llama 3: `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|
    /// ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`.
    case llamaBPE = "llama-bpe"
    /// Qwen 2: the Llama 3 regex with single digits (`\p{N}` instead of `\p{N}{1,3}`).
    case qwen2

    /// Other `tokenizer.ggml.pre` names llama.cpp treats exactly like one of ours.
    public static let aliases: [String: PreTokenizer] = [
        "default": .gpt2, "gpt2": .gpt2, "mpt": .gpt2, "olmo": .gpt2, "jais": .gpt2,
        "starcoder": .smollm, "refact": .smollm, "command-r": .smollm, "codeshell": .smollm,
        "exaone": .smollm, "minerva-7b": .smollm,
        "llama3": .llamaBPE, "llama-v3": .llamaBPE, "dbrx": .llamaBPE, "smaug-bpe": .llamaBPE,
        "stablelm2": .qwen2, "deepseek-r1-qwen": .qwen2,
    ]

    /// Looks a pre-tokenizer up by its llama.cpp name (`tokenizer.ggml.pre`) or an alias.
    public init(name: String) throws(TokenizerError) {
        if let known = PreTokenizer(rawValue: name) ?? Self.aliases[name] {
            self = known
            return
        }
        let supported = (Self.allCases.map(\.rawValue) + Self.aliases.keys.sorted()).joined(separator: ", ")
        throw TokenizerError("unsupported pre-tokenizer '\(name)' (supported: \(supported))")
    }

    /// Splits `text` into its pre-tokenizer words (for inspection and tests).
    public func split(_ text: String) -> [String] {
        var text = text
        return text.withUTF8 { bytes in
            var words: [String] = []
            var scalars = ScalarText()
            split(bytes, 0..<bytes.count, scalars: &scalars) { range in
                words.append(String(decoding: UnsafeBufferPointer(rebasing: bytes[range]), as: UTF8.self))
            }
            return words
        }
    }

    /// Splits the valid UTF-8 in `bytes[range]`, calling `emit` with the byte range of each word in order.
    func split(
        _ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>, scalars: inout ScalarText,
        emit: (Range<Int>) -> Void
    ) {
        scalars.load(bytes, range)
        let text = scalars
        func emitScalars(_ start: Int, _ end: Int) { emit(text.byteOffsets[start]..<text.byteOffsets[end]) }
        switch self {
        case .gpt2:
            Self.scanGPT2(text, 0, text.count, emitScalars)
        case .smollm:
            var start = 0
            for position in 0..<text.count where text.classes[position].contains(.number) {
                Self.scanGPT2(text, start, position, emitScalars)
                emitScalars(position, position + 1)
                start = position + 1
            }
            Self.scanGPT2(text, start, text.count, emitScalars)
        case .llamaBPE:
            Self.scanLlama3(text, 0, text.count, maxDigits: 3, emitScalars)
        case .qwen2:
            Self.scanLlama3(text, 0, text.count, maxDigits: 1, emitScalars)
        }
    }

    private static let apostrophe: UInt32 = 0x27, space: UInt32 = 0x20
    private static let carriageReturn: UInt32 = 0x0D, lineFeed: UInt32 = 0x0A

    /// The length of the contraction (`'s`, `'t`, `'re`, `'ve`, `'m`, `'ll`, `'d`) at `position`, or 0.
    private static func contractionLength(_ text: ScalarText, _ position: Int, _ end: Int, ignoringCase: Bool) -> Int {
        guard text.values[position] == apostrophe, position + 1 < end else { return 0 }
        func letter(_ index: Int) -> UInt32 {
            let value = text.values[index]
            return ignoringCase && (0x41...0x5A).contains(value) ? value + 0x20 : value
        }
        switch letter(position + 1) {
        case 0x73, 0x74, 0x6D, 0x64: return 2 // s t m d
        default: break
        }
        guard position + 2 < end else { return 0 }
        switch (letter(position + 1), letter(position + 2)) {
        case (0x72, 0x65), (0x76, 0x65), (0x6C, 0x6C): return 3 // re ve ll
        default: return 0
        }
    }

    /// The GPT-2 regex over scalars `start..<end` (the end acts as the end of text for `(?!\S)`).
    private static func scanGPT2(_ text: ScalarText, _ start: Int, _ end: Int, _ emit: (Int, Int) -> Void) {
        let classes = text.classes
        var position = start
        while position < end {
            let contraction = contractionLength(text, position, end, ignoringCase: false)
            if contraction > 0 {
                emit(position, position + contraction)
                position += contraction
                continue
            }
            // ` ?\p{L}+`, ` ?\p{N}+`, ` ?[^\s\p{L}\p{N}]+`: one class after an optional space.
            let body = text.values[position] == space ? position + 1 : position
            if body < end && !classes[body].contains(.whitespace) {
                let kind = classes[body]
                var stop = body + 1
                while stop < end && classes[stop] == kind { stop += 1 }
                emit(position, stop)
                position = stop
                continue
            }
            position = scanWhitespace(text, position, end, emit)
        }
    }

    /// `\s+(?!\S)|\s+` at `position` (a whitespace scalar); returns where the match ends.
    private static func scanWhitespace(
        _ text: ScalarText, _ position: Int, _ end: Int,
        _ emit: (Int, Int) -> Void
    ) -> Int {
        var stop = position
        while stop < end && text.classes[stop].contains(.whitespace) { stop += 1 }
        if stop - position > 1 && stop < end { stop -= 1 }
        stop = max(stop, position + 1)
        emit(position, stop)
        return stop
    }

    /// The Llama 3 / Qwen 2 regex over scalars `start..<end`, digits grouped by up to `maxDigits`.
    private static func scanLlama3(
        _ text: ScalarText, _ start: Int, _ end: Int, maxDigits: Int,
        _ emit: (Int, Int) -> Void
    ) {
        let classes = text.classes, values = text.values
        func isNewline(_ index: Int) -> Bool { values[index] == carriageReturn || values[index] == lineFeed }
        var position = start
        while position < end {
            let contraction = contractionLength(text, position, end, ignoringCase: true)
            if contraction > 0 {
                emit(position, position + contraction)
                position += contraction
                continue
            }
            let kind = classes[position]
            // `[^\r\n\p{L}\p{N}]?\p{L}+`
            if !isNewline(position) && !kind.contains(.number)
                && (kind.contains(.letter) || (position + 1 < end && classes[position + 1].contains(.letter)))
            {
                var stop = position + 1
                while stop < end && classes[stop].contains(.letter) { stop += 1 }
                emit(position, stop)
                position = stop
                continue
            }
            // `\p{N}{1,maxDigits}`
            if kind.contains(.number) {
                var stop = position + 1
                while stop < end && stop - position < maxDigits && classes[stop].contains(.number) { stop += 1 }
                emit(position, stop)
                position = stop
                continue
            }
            // ` ?[^\s\p{L}\p{N}]+[\r\n]*`
            let body = values[position] == space ? position + 1 : position
            if body < end && classes[body].isEmpty {
                var stop = body + 1
                while stop < end && classes[stop].isEmpty { stop += 1 }
                while stop < end && isNewline(stop) { stop += 1 }
                emit(position, stop)
                position = stop
                continue
            }
            // `\s*[\r\n]+`: the whitespace run up to its last line break, if it has one.
            var stop = position, afterLastNewline = -1
            while stop < end && classes[stop].contains(.whitespace) {
                if isNewline(stop) { afterLastNewline = stop + 1 }
                stop += 1
            }
            if afterLastNewline > 0 {
                emit(position, afterLastNewline)
                position = afterLastNewline
                continue
            }
            position = scanWhitespace(text, position, end, emit)
        }
    }
}
