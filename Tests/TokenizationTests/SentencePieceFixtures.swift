import Foundation
import TestSupport

/// The SentencePiece reference fixtures of `Scripts/spm_fixtures.py`: a Unigram and a BPE
/// (byte fallback) model trained by `sentencepiece` on WikiText-2, with the ids `sentencepiece`
/// and transformers give for WikiText-2 test and a file of hard cases. Generated once into the
/// cache (`$SHEARS_CACHE/spm-fixtures`), in the reference environment of `Scripts/install-refenv.sh`
/// when it has `sentencepiece`; never committed.
enum SentencePieceFixtures {
    /// The two model kinds the script trains.
    static let kinds = ["unigram", "bpe"]
    /// The texts it encodes (file stems).
    static let texts = ["hard-cases", "wikitext2-test"]

    static let cache: String = {
        let env = ProcessInfo.processInfo.environment
        return env["SHEARS_CACHE"] ?? (NSHomeDirectory() + "/.cache/shears")
    }()

    /// The reference environment's python.
    static var python: String { cache + "/refenv/bin/python" }

    /// Whether the fixtures exist or can be made (reference environment with sentencepiece, shared data).
    static let available: Bool = {
        guard ReferenceData.hasData else { return false }
        if FileManager.default.fileExists(atPath: directory + "/done") { return true }
        guard FileManager.default.isExecutableFile(atPath: python),
            let outcome = try? ChildProcess.run(
                URL(fileURLWithPath: python), ["-c", "import sentencepiece, transformers"]),
            outcome.status == 0
        else { return false }
        return true
    }()

    /// The fixture directory, named after the script's content so that a changed script regenerates.
    static let directory: String = {
        let script = ReferenceData.packageRoot.appendingPathComponent("Scripts/spm_fixtures.py")
        let bytes = (try? Data(contentsOf: script)) ?? Data()
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        return cache + "/spm-fixtures/" + String(hash, radix: 16)
    }()

    /// Generates the fixtures unless present; returns the directory.
    static func prepare() throws -> String {
        try generated.get()
    }

    private static let generated: Result<String, Error> = Result {
        if FileManager.default.fileExists(atPath: directory + "/done") { return directory }
        let script = ReferenceData.packageRoot.appendingPathComponent("Scripts/spm_fixtures.py").path
        let outcome = try ChildProcess.run(
            URL(fileURLWithPath: python),
            [
                script, ReferenceData.file("wikitext2-valid.txt").path, ReferenceData.file("wikitext2-test.txt").path,
                directory,
            ])
        guard outcome.status == 0 else { throw PythonRunner.Failure(status: outcome.status, stderr: outcome.stderr) }
        try Data().write(to: URL(fileURLWithPath: directory + "/done"))
        return directory
    }

    /// The bytes of a fixture file.
    static func bytes(_ name: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: URL(fileURLWithPath: try prepare() + "/" + name)))
    }

    /// An int32 little-endian id file.
    static func ids(_ name: String) throws -> [Int32] {
        let data = try Data(contentsOf: URL(fileURLWithPath: try prepare() + "/" + name))
        return data.withUnsafeBytes { raw in
            (0..<data.count / 4).map { raw.loadUnaligned(fromByteOffset: $0 * 4, as: Int32.self) }
        }
    }

    /// The text of `stem` (the hard cases live in the fixture directory, WikiText-2 in the shared data).
    static func text(_ stem: String) throws -> String {
        let url =
            stem == "hard-cases"
            ? URL(fileURLWithPath: try prepare() + "/hard-cases.txt") : ReferenceData.file(stem + ".txt")
        return String(decoding: try Data(contentsOf: url), as: UTF8.self)
    }
}
