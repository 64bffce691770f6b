import JSON

/// Reading and writing the small JSON files of a Hugging Face model directory.
enum HuggingFaceJSONFile {
    /// Largest JSON file accepted (tokenizer.json of large vocabularies is tens of MB).
    static let maxSize = 512 << 20

    /// The bytes of the file at `path`.
    static func bytes(_ path: String) throws(ModelIOError) -> [UInt8] {
        let mapping = try MappedFile(path: path)
        guard mapping.bytes.count <= maxSize else {
            throw ModelIOError(
                path: path, "file is \(mapping.bytes.count) bytes, larger than the \(maxSize)-byte limit for JSON")
        }
        return Array(mapping.bytes)
    }

    /// Parses the JSON file at `path`; it must hold an object.
    static func read(_ path: String) throws(ModelIOError) -> JSONValue {
        try parse(bytes(path), path: path)
    }

    /// Parses `bytes` (from `path`) as a JSON object.
    static func parse(_ bytes: [UInt8], path: String) throws(ModelIOError) -> JSONValue {
        let value: JSONValue
        do throws(JSONParseError) {
            value = try JSONParser.parse(bytes)
        } catch {
            throw ModelIOError(path: path, "is not valid JSON: \(error.message)")
        }
        guard value.members != nil else { throw ModelIOError(path: path, "holds \(value.kindName), not a JSON object") }
        return value
    }
}
