#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A file written under a temporary name in its destination's directory and renamed into place
/// on `commit()`, so that a reader never sees a half-written file and nothing is overwritten.
///
/// The destination must not exist. Without `commit()` the temporary file is removed on deinit.
final class SafetensorsOutputFile {
    /// The final path.
    let path: String
    private let temporaryPath: String
    private var descriptor: Int32

    /// Creates the temporary file beside `path`.
    init(path: String) throws(ModelIOError) {
        self.path = path
        if access(path, F_OK) == 0 { throw ModelIOError(path: path, "already exists; refusing to overwrite it") }
        let slash = path.lastIndex(of: "/")
        let directory = slash.map { String(path[...$0]) } ?? ""
        let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
        temporaryPath = "\(directory).\(name).shears-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).tmp"
        descriptor = open(temporaryPath, O_WRONLY | O_CREAT | O_EXCL, 0o644)
        guard descriptor >= 0 else { throw ModelIOError(path: path, "cannot create \(temporaryPath): \(Self.lastError())") }
    }

    deinit {
        if descriptor >= 0 {
            close(descriptor)
            unlink(temporaryPath)
        }
    }

    /// Appends `count` bytes from `bytes`.
    func write(_ bytes: UnsafeRawPointer, count: Int) throws(ModelIOError) {
        var done = 0
        while done < count {
            let written = posixWrite(descriptor, bytes + done, min(count - done, 1 << 30))
            if written < 0 && errno == EINTR { continue }
            guard written > 0 else { throw ModelIOError(path: path, "write failed: \(Self.lastError())") }
            done += written
        }
    }

    /// Appends `bytes`.
    func write(_ bytes: [UInt8]) throws(ModelIOError) {
        let result: Result<Void, ModelIOError> = bytes.withUnsafeBytes { raw in
            guard let base = raw.baseAddress else { return .success(()) }
            return Result { () throws(ModelIOError) in try write(base, count: raw.count) }
        }
        try result.get()
    }

    /// Flushes, closes and renames the file into place.
    func commit() throws(ModelIOError) {
        guard fsync(descriptor) == 0 else { throw ModelIOError(path: path, "fsync failed: \(Self.lastError())") }
        let closed = close(descriptor)
        descriptor = -1
        guard closed == 0 else {
            unlink(temporaryPath)
            throw ModelIOError(path: path, "close failed: \(Self.lastError())")
        }
        if access(path, F_OK) == 0 {
            unlink(temporaryPath)
            throw ModelIOError(path: path, "appeared while it was being written; refusing to overwrite it")
        }
        guard rename(temporaryPath, path) == 0 else {
            let message = Self.lastError()
            unlink(temporaryPath)
            throw ModelIOError(path: path, "cannot rename the temporary file into place: \(message)")
        }
    }

    /// Writes `bytes` as a complete new file at `path`.
    static func write(_ bytes: [UInt8], to path: String) throws(ModelIOError) {
        let file = try SafetensorsOutputFile(path: path)
        try file.write(bytes)
        try file.commit()
    }

    private static func lastError() -> String { String(cString: strerror(errno)) }
}

/// `write(2)`, reachable from inside a type that has its own `write` methods.
private func posixWrite(_ descriptor: Int32, _ bytes: UnsafeRawPointer, _ count: Int) -> Int {
    write(descriptor, bytes, count)
}
