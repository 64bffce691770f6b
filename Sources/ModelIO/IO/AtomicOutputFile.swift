#if canImport(Darwin)
    import Darwin
#else
    import Glibc
#endif

/// A file written under a temporary name in its destination's directory and renamed into place
/// on `commit()`, so that a reader never sees a half-written file.
///
/// Without `commit()` (or when it fails) the temporary file is removed.
final class AtomicOutputFile {
    /// The final path.
    let path: String
    private let temporaryPath: String
    private let replacesExisting: Bool
    private var descriptor: Int32

    /// Creates the temporary file beside `path`; unless `replacingExisting`, `path` must not exist
    /// (now or at commit time).
    init(path: String, replacingExisting: Bool) throws(ModelIOError) {
        self.path = path
        replacesExisting = replacingExisting
        if !replacingExisting, access(path, F_OK) == 0 {
            throw ModelIOError(path: path, "already exists; refusing to overwrite it")
        }
        let slash = path.lastIndex(of: "/")
        let directory = slash.map { String(path[...$0]) } ?? ""
        let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
        temporaryPath = "\(directory).\(name).shears-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).tmp"
        descriptor = open(temporaryPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw ModelIOError(path: path, "cannot create temporary file \(temporaryPath): \(lastErrorText())")
        }
    }

    deinit {
        if descriptor >= 0 {
            close(descriptor)
            unlink(temporaryPath)
        }
    }

    /// Appends all of `bytes`, retrying short writes.
    func write(_ bytes: UnsafeRawBufferPointer) throws(ModelIOError) {
        guard let base = bytes.baseAddress else { return }
        var done = 0
        while done < bytes.count {
            let written = posixWrite(descriptor, base + done, min(bytes.count - done, 1 << 30))
            if written < 0 && errno == EINTR { continue }
            guard written > 0 else { throw ModelIOError(path: path, "cannot write: \(lastErrorText())") }
            done += written
        }
    }

    /// Appends `bytes`.
    func write(_ bytes: [UInt8]) throws(ModelIOError) {
        let result = bytes.withUnsafeBytes { raw in Result { () throws(ModelIOError) in try write(raw) } }
        try result.get()
    }

    /// Appends `count` zero bytes.
    func writeZeros(_ count: Int) throws(ModelIOError) {
        if count > 0 { try write([UInt8](repeating: 0, count: count)) }
    }

    /// Flushes the data to disk, closes the file and renames it into place.
    func commit() throws(ModelIOError) {
        guard fsync(descriptor) == 0 else { throw ModelIOError(path: path, "cannot flush to disk: \(lastErrorText())") }
        let closed = close(descriptor)
        descriptor = -1
        guard closed == 0 else {
            unlink(temporaryPath)
            throw ModelIOError(path: path, "cannot close: \(lastErrorText())")
        }
        if !replacesExisting, access(path, F_OK) == 0 {
            unlink(temporaryPath)
            throw ModelIOError(path: path, "appeared while it was being written; refusing to overwrite it")
        }
        guard rename(temporaryPath, path) == 0 else {
            let reason = lastErrorText()
            unlink(temporaryPath)
            throw ModelIOError(path: path, "cannot rename the temporary file into place: \(reason)")
        }
    }

    /// Writes `bytes` as a complete new file at `path`, which must not exist.
    static func write(_ bytes: [UInt8], to path: String) throws(ModelIOError) {
        let file = try AtomicOutputFile(path: path, replacingExisting: false)
        try file.write(bytes)
        try file.commit()
    }
}

/// `write(2)`, reachable from inside a type that has its own `write` methods.
private func posixWrite(_ descriptor: Int32, _ bytes: UnsafeRawPointer, _ count: Int) -> Int {
    write(descriptor, bytes, count)
}
