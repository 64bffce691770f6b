/// Writes a Float32 safetensors file whose tensors arrive one at a time, in an order known in
/// advance, so that they never have to be held together: the header (offsets in arrival order)
/// first, then each tensor's data as it comes, renamed into place by `commit()`.
///
/// ```swift
/// let writer = try SafetensorsStreamWriter(path: "g.safetensors", layout: [("a", [2, 3]), ("b", [4])])
/// try writer.append("a", a)   // 6 floats
/// try writer.append("b", b)   // 4 floats
/// try writer.commit()
/// ```
public final class SafetensorsStreamWriter {
    /// The final path.
    public let path: String
    private let layout: [(name: String, shape: [Int])]
    private let file: AtomicOutputFile
    /// How many tensors have been appended.
    private var next = 0

    /// Creates the file (under a temporary name) and writes the header for `layout`, the tensors
    /// in the order they will be appended.
    ///
    /// - Throws: `ModelIOError` if `path` exists, a name repeats, or the file cannot be written.
    public init(
        path: String, layout: [(name: String, shape: [Int])], metadata: [String: String] = [:]
    )
        throws(ModelIOError)
    {
        self.path = path
        self.layout = layout
        let header = try SafetensorsWriter.header(laying: layout, type: .f32, metadata: metadata, path: path)
        file = try AtomicOutputFile(path: path, replacingExisting: false)
        try file.write(header)
    }

    /// Appends the data of the next tensor of the layout, which must be `name` with its
    /// shape's element count.
    ///
    /// - Throws: `ModelIOError` for another name, a wrong count, or a failed write.
    public func append(_ name: String, _ values: UnsafeBufferPointer<Float>) throws(ModelIOError) {
        guard next < layout.count else {
            throw ModelIOError(path: path, item: name, "appended after the last tensor of the layout")
        }
        let expected = layout[next]
        guard expected.name == name else {
            throw ModelIOError(path: path, item: name, "appended where \(expected.name) is due")
        }
        guard values.count == expected.shape.reduce(1, *) else {
            throw ModelIOError(
                path: path, item: name, "has \(values.count) values for shape \(expected.shape)")
        }
        try file.write(UnsafeRawBufferPointer(values))
        next += 1
    }

    /// Flushes the file and renames it into place.
    ///
    /// - Throws: `ModelIOError` when a tensor of the layout is missing or the file cannot be
    ///   completed.
    public func commit() throws(ModelIOError) {
        guard next == layout.count else {
            throw ModelIOError(path: path, "only \(next) of \(layout.count) tensors were written")
        }
        try file.commit()
    }
}
