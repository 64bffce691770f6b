import Foundation
import TestSupport

/// Runs `Scripts/hf_crosscheck.py` (PyPI safetensors + numpy, optionally transformers and torch)
/// on a model directory and returns its JSON summary.
enum HuggingFaceCrossCheck {
    /// Whether python3 can import safetensors and numpy (or the reference is required, so the
    /// tests run and fail loudly).
    static let available: Bool = ReferenceData.required || pythonSucceeds("import safetensors, numpy")

    /// Whether `SHEARS_REQUIRE_TRANSFORMERS=1` demands the transformers and torch checks, so that
    /// their absence fails instead of skipping (they need ~3 GB of PyPI packages, which CI
    /// installs only when it sets this).
    static var transformersRequired: Bool { ProcessInfo.processInfo.environment["SHEARS_REQUIRE_TRANSFORMERS"] == "1" }

    /// Whether transformers and torch import too (needed for loading with transformers and for
    /// the forward-pass comparison), or are required.
    static let hasTorch: Bool = transformersRequired || pythonSucceeds("import torch, transformers")

    private static func pythonSucceeds(_ code: String) -> Bool {
        (try? run(["-c", code])) != nil
    }

    /// The script's summary of `directory`, with a forward pass over `logitIDs` if given, and a
    /// copy saved by transformers into `resaveDirectory` if given.
    static func summary(of directory: String, logitIDs: [Int32] = [], resaveDirectory: String? = nil) throws -> [String: Any] {
        var arguments = [ReferenceData.packageRoot.appendingPathComponent("Scripts/hf_crosscheck.py").path, directory]
        if !logitIDs.isEmpty { arguments += ["--logits", logitIDs.map(String.init).joined(separator: ",")] }
        if let resaveDirectory { arguments += ["--resave", resaveDirectory] }
        let output = try run(arguments)
        guard let json = try JSONSerialization.jsonObject(with: output) as? [String: Any] else {
            throw PythonError(message: "hf_crosscheck.py printed no JSON object")
        }
        return json
    }

    /// Runs python3 with `arguments` (stderr to a temporary file, so a chatty library cannot
    /// block the pipe); throws with stderr when it fails.
    private static func run(_ arguments: [String]) throws -> Data {
        let errorFile = FileManager.default.temporaryDirectory.appendingPathComponent("shears-py-\(UUID().uuidString).err")
        guard FileManager.default.createFile(atPath: errorFile.path, contents: nil) else {
            throw PythonError(message: "cannot create \(errorFile.path)")
        }
        defer { try? FileManager.default.removeItem(at: errorFile) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3"] + arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = try FileHandle(forWritingTo: errorFile)
        try process.run()
        let stdout = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw PythonError(message: (try? String(contentsOf: errorFile, encoding: .utf8)) ?? "python3 failed")
        }
        return stdout
    }

    /// A failed python3 run.
    struct PythonError: Error, CustomStringConvertible {
        var message: String
        var description: String { message }
    }
}
