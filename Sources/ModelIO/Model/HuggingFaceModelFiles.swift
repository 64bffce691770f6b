#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// File names of a Hugging Face model directory and the file-system steps the reader and writer
/// share.
enum HuggingFaceModelFiles {
    static let config = "config.json"
    static let tokenizer = "tokenizer.json"
    static let sentencePieceModel = "tokenizer.model"
    static let tokenizerConfig = "tokenizer_config.json"
    static let generationConfig = "generation_config.json"

    /// Whether anything exists at `path`.
    static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

    /// Creates a fresh, uniquely named directory beside `destination` for writing into.
    static func makeTemporarySibling(of destination: String) throws(ModelIOError) -> String {
        let trimmed = destination.hasSuffix("/") ? String(destination.dropLast()) : destination
        let slash = trimmed.lastIndex(of: "/")
        let parent = slash.map { String(trimmed[...$0]) } ?? ""
        let name = slash.map { String(trimmed[trimmed.index(after: $0)...]) } ?? trimmed
        let path = "\(parent).\(name).shears-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).tmp"
        guard mkdir(path, 0o755) == 0 else {
            throw ModelIOError(
                path: destination, "cannot create the temporary directory \(path): \(String(cString: strerror(errno)))")
        }
        return path
    }

    /// Removes the temporary `directory` of a failed write together with the files in it (it
    /// holds only files the writer created, so nothing is searched recursively).
    static func removeTemporary(_ directory: String) {
        if let stream = opendir(directory) {
            var names: [String] = []
            while let entry = readdir(stream) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                    String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
                }
                if name != "." && name != ".." { names.append(name) }
            }
            closedir(stream)
            for name in names { unlink(directory + "/" + name) }
        }
        rmdir(directory)
    }

    /// Renames the finished `temporary` directory to `destination`, which must not exist.
    static func moveIntoPlace(_ temporary: String, _ destination: String) throws(ModelIOError) {
        if exists(destination) {
            throw ModelIOError(path: destination, "appeared while the model was being written; refusing to replace it")
        }
        guard rename(temporary, destination) == 0 else {
            throw ModelIOError(
                path: destination, "cannot rename \(temporary) into place: \(String(cString: strerror(errno)))")
        }
    }
}
