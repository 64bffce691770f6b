/// An error reading, validating or writing a model file.
///
/// Every error names the file and, where there is one, the tensor or metadata key at fault, so
/// that the message alone tells the user what to fix. The CLI prints `description` and exits 2.
public struct ModelIOError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The file or directory concerned.
    public var path: String
    /// The tensor name or metadata key concerned, if any.
    public var item: String?
    /// What is wrong, in one sentence.
    public var message: String

    /// Creates an error about `path` (and optionally one tensor or key within it).
    public init(path: String, item: String? = nil, _ message: String) {
        self.path = path
        self.item = item
        self.message = message
    }

    /// `path: item: message`, one line.
    public var description: String {
        if let item { "\(path): \(item): \(message)" } else { "\(path): \(message)" }
    }
}
