import Foundation

/// The on-disk formats Shears reads and writes.
public enum ModelFormat: String, Sendable, CustomStringConvertible {
    /// A single GGUF file (llama.cpp).
    case gguf
    /// A Hugging Face model directory: `config.json`, `tokenizer.json` and safetensors weights.
    case safetensors

    /// The format's name.
    public var description: String { rawValue }

    /// The format of an existing model at `path`: a directory is a Hugging Face model, a file
    /// starting with the GGUF magic is GGUF.
    ///
    /// - Throws: `ModelIOError` when the path does not exist or is neither.
    public static func detect(path: String) throws(ModelIOError) -> ModelFormat {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw ModelIOError(path: path, "no such file or directory")
        }
        if isDirectory.boolValue { return .safetensors }
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw ModelIOError(path: path, "cannot open the file for reading")
        }
        defer { try? handle.close() }
        let magic = (try? handle.read(upToCount: 4)) ?? Data()
        if magic == Data("GGUF".utf8) { return .gguf }
        if path.hasSuffix(".safetensors") {
            throw ModelIOError(
                path: path,
                "a bare .safetensors file has no config or tokenizer; pass the model directory that holds it")
        }
        throw ModelIOError(path: path, "not a model: expected a .gguf file or a Hugging Face model directory")
    }

    /// The format to write at `path`: `.gguf` names a GGUF file, anything else a directory.
    public static func forOutput(path: String) -> ModelFormat {
        path.lowercased().hasSuffix(".gguf") ? .gguf : .safetensors
    }
}

/// Loads a model from a GGUF file or a Hugging Face safetensors directory.
public enum ModelLoader {
    /// Reads the model at `path`, whatever its format: into memory as Float32 (`.resident`), or
    /// with its matrices left in the file and decoded a layer at a time (`.streamed`, GGUF only);
    /// `scratchDirectory` sets the model's `scratchDirectory` when given.
    ///
    /// - Throws: `ModelIOError` naming the file and the tensor or key at fault, or a streamed
    ///   read of a safetensors directory.
    public static func load(
        path: String, residency: ModelResidency = .resident, scratchDirectory: String? = nil
    ) throws(ModelIOError) -> Model {
        let model: Model
        switch try ModelFormat.detect(path: path) {
        case .gguf: model = try GGUFModelReader.load(GGUFFile(path: path), residency: residency)
        case .safetensors:
            guard residency == .resident else {
                throw ModelIOError(
                    path: path,
                    "streaming reads GGUF files only; convert the model first (shears convert \(path) model.gguf) "
                        + "or load it resident")
            }
            model = try HuggingFaceModelReader.load(directory: path)
        }
        if let scratchDirectory { model.scratchDirectory = scratchDirectory }
        return model
    }
}
