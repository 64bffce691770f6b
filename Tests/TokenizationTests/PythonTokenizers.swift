import Foundation
import TestSupport

/// Hugging Face `tokenizers` (PyPI) run through `python3`, as an independent reference encoder.
enum PythonTokenizers {
    /// Whether `python3 -c "import tokenizers"` works (or the reference is required, so tests run and fail loudly).
    static let available: Bool = ReferenceData.required || PythonRunner.canImport(["tokenizers"])

    /// Encodes each text with the `tokenizer.json` given (no special tokens added).
    static func encode(tokenizerJSON: [UInt8], texts: [[UInt8]]) throws -> [[Int32]] {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "shears-tokenizers-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let json = directory.appendingPathComponent("tokenizer.json")
        try Data(tokenizerJSON).write(to: json)
        var arguments = ["-c", script, json.path]
        for (index, text) in texts.enumerated() {
            let file = directory.appendingPathComponent("text\(index).txt")
            try Data(text).write(to: file)
            arguments.append(file.path)
        }
        try PythonRunner.output(arguments)
        return try texts.indices.map { index in
            let data = try Data(contentsOf: directory.appendingPathComponent("text\(index).txt.ids"))
            return data.withUnsafeBytes { raw in
                (0..<data.count / 4).map { raw.loadUnaligned(fromByteOffset: $0 * 4, as: Int32.self) }
            }
        }
    }

    /// The words the `pre_tokenizer` of a `tokenizer.json` splits `text` into, in the byte-level alphabet.
    static func preTokenize(tokenizerJSON: [UInt8], text: String) throws -> [String] {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "shears-tokenizers-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let json = directory.appendingPathComponent("tokenizer.json"),
            input = directory.appendingPathComponent("text.txt")
        try Data(tokenizerJSON).write(to: json)
        try Data(text.utf8).write(to: input)
        let output = try PythonRunner.output([
            "-c",
            """
            import json, sys
            from tokenizers import Tokenizer
            text = open(sys.argv[2], "rb").read().decode("utf-8")
            words = Tokenizer.from_file(sys.argv[1]).pre_tokenizer.pre_tokenize_str(text)
            print(json.dumps([word for word, _ in words]))
            """, json.path, input.path,
        ])
        return try JSONDecoder().decode([String].self, from: output)
    }

    /// Loads a `tokenizer.json` and saves it again the way `tokenizers` itself writes it.
    static func resave(tokenizerJSON: [UInt8]) throws -> [UInt8] {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "shears-tokenizers-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let input = directory.appendingPathComponent("in.json"), output = directory.appendingPathComponent("out.json")
        try Data(tokenizerJSON).write(to: input)
        try PythonRunner.output([
            "-c", "import sys; from tokenizers import Tokenizer; Tokenizer.from_file(sys.argv[1]).save(sys.argv[2])",
            input.path, output.path,
        ])
        return try [UInt8](Data(contentsOf: output))
    }

    /// Loads the tokenizer, then writes `<text>.ids` (int32 little-endian) for each text file.
    private static let script = """
        import struct, sys
        from tokenizers import Tokenizer
        tokenizer = Tokenizer.from_file(sys.argv[1])
        for path in sys.argv[2:]:
            text = open(path, "rb").read().decode("utf-8")
            ids = tokenizer.encode(text, add_special_tokens=False).ids
            open(path + ".ids", "wb").write(struct.pack("<%di" % len(ids), *ids))
        """
}
