import Foundation

/// Locations of the shared reference data (`../shared/data` beside the checkout) and of the
/// default SmolLM2 model, for tests that use real data.
///
/// Tests that need these are enabled only when they exist; CI sets `SHEARS_REQUIRE_REFERENCE=1`
/// so that their absence fails the run instead of skipping silently.
public enum ReferenceData {
    /// The package root (the folder holding Package.swift).
    public static let packageRoot: URL = {
        var url = URL(fileURLWithPath: #filePath)
        while url.path != "/" {
            url.deleteLastPathComponent()
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { return url }
        }
        return URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
    }()

    /// `../shared/data` relative to the package root, or `$SHEARS_SHARED_DATA`.
    public static let dataDirectory: URL = {
        if let path = ProcessInfo.processInfo.environment["SHEARS_SHARED_DATA"] { return URL(fileURLWithPath: path) }
        return packageRoot.deletingLastPathComponent().appendingPathComponent("shared/data")
    }()

    /// The SmolLM2 GGUF: `$SHEARS_MODEL`, else the cache that `Scripts/fetch-model.sh` fills.
    public static let modelPath: String = {
        let env = ProcessInfo.processInfo.environment
        if let path = env["SHEARS_MODEL"] { return path }
        let cache = env["SHEARS_CACHE"] ?? (NSHomeDirectory() + "/.cache/shears")
        return cache + "/models/SmolLM2-135M-Instruct.Q4_1.gguf"
    }()

    /// A file in the shared data folder.
    public static func file(_ name: String) -> URL { dataDirectory.appendingPathComponent(name) }

    /// Whether the shared data folder is present (or required, in which case tests run and fail loudly).
    public static var hasData: Bool {
        required || FileManager.default.fileExists(atPath: file("README.md").path)
    }

    /// Whether the SmolLM2 model is present (or required).
    public static var hasModel: Bool {
        required || FileManager.default.fileExists(atPath: modelPath)
    }

    /// Whether long checks (minutes each, kept out of the default suite) were asked for with
    /// `SHEARS_LONG_TESTS=1`.
    public static var longTests: Bool { ProcessInfo.processInfo.environment["SHEARS_LONG_TESTS"] == "1" }

    /// Whether CI demands the reference data (`SHEARS_REQUIRE_REFERENCE=1`).
    public static var required: Bool { ProcessInfo.processInfo.environment["SHEARS_REQUIRE_REFERENCE"] == "1" }

    /// Reads a little-endian int32 file (the reference token id streams).
    public static func int32s(_ name: String) throws -> [Int32] {
        let data = try Data(contentsOf: file(name))
        return data.withUnsafeBytes { raw in
            (0..<data.count / 4).map { raw.loadUnaligned(fromByteOffset: $0 * 4, as: Int32.self) }
        }
    }

    /// Reads a little-endian float32 file (the reference NLLs).
    public static func float32s(_ name: String) throws -> [Float] {
        let data = try Data(contentsOf: file(name))
        return data.withUnsafeBytes { raw in
            (0..<data.count / 4).map { raw.loadUnaligned(fromByteOffset: $0 * 4, as: Float.self) }
        }
    }
}
