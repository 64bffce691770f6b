import Foundation
import TestSupport

/// Runs `Scripts/hf_crosscheck.py` (PyPI safetensors + numpy, optionally transformers and torch)
/// on a model directory and returns its JSON summary.
enum HuggingFaceCrossCheck {
    /// Whether python3 can import safetensors and numpy (or the reference is required, so the
    /// tests run and fail loudly).
    static let available: Bool = ReferenceData.required || PythonRunner.canImport(["safetensors", "numpy"])

    /// Whether `SHEARS_REQUIRE_TRANSFORMERS=1` demands the transformers and torch checks, so that
    /// their absence fails instead of skipping (they need ~3 GB of PyPI packages, which CI
    /// installs only when it sets this).
    static var transformersRequired: Bool { ProcessInfo.processInfo.environment["SHEARS_REQUIRE_TRANSFORMERS"] == "1" }

    /// Whether transformers and torch import too (needed for loading with transformers and for
    /// the forward-pass comparison), or are required.
    static let hasTorch: Bool = transformersRequired || PythonRunner.canImport(["torch", "transformers"])

    /// The script's summary of `directory`, with a forward pass over `logitIDs` if given, and a
    /// copy saved by transformers into `resaveDirectory` if given.
    static func summary(
        of directory: String, logitIDs: [Int32] = [], resaveDirectory: String? = nil
    ) throws -> [String: Any] {
        var arguments = [ReferenceData.packageRoot.appendingPathComponent("Scripts/hf_crosscheck.py").path, directory]
        if !logitIDs.isEmpty { arguments += ["--logits", logitIDs.map(String.init).joined(separator: ",")] }
        if let resaveDirectory { arguments += ["--resave", resaveDirectory] }
        let output = try PythonRunner.output(arguments)
        guard let json = try JSONSerialization.jsonObject(with: output) as? [String: Any] else {
            throw PythonRunner.Failure(status: 0, stderr: "hf_crosscheck.py printed no JSON object")
        }
        return json
    }
}
