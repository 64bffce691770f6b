#if canImport(Darwin)
import Darwin
#else
import Glibc
#endif

/// A file written through a temporary sibling and renamed into place on `commit()`, so that the
/// destination never holds a partial file. If not committed, the temporary file is removed.
final class GGUFOutputFile {
    /// The final destination.
    let path: String
    private let temporaryPath: String
    private var descriptor: Int32

    /// Creates a fresh temporary file beside `path`.
    init(path: String) throws(ModelIOError) {
        self.path = path
        var generator = SystemRandomNumberGenerator()
        temporaryPath = "\(path).tmp-\(getpid())-\(String(generator.next() as UInt32, radix: 16))"
        descriptor = open(temporaryPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw ModelIOError(path: path, "cannot create temporary file \(temporaryPath): \(String(cString: strerror(errno)))")
        }
    }

    deinit {
        if descriptor >= 0 {
            close(descriptor)
            unlink(temporaryPath)
        }
    }

    /// Writes all of `bytes`.
    func append(_ bytes: UnsafeRawBufferPointer) throws(ModelIOError) {
        let failure = writeAll(bytes)
        guard failure == 0 else { throw ModelIOError(path: path, "cannot write: \(String(cString: strerror(failure)))") }
    }

    /// Writes all of `bytes`.
    func append(_ bytes: [UInt8]) throws(ModelIOError) {
        let failure = bytes.withUnsafeBytes { writeAll($0) }
        guard failure == 0 else { throw ModelIOError(path: path, "cannot write: \(String(cString: strerror(failure)))") }
    }

    /// Writes `count` zero bytes.
    func appendZeros(_ count: Int) throws(ModelIOError) {
        if count > 0 { try append([UInt8](repeating: 0, count: count)) }
    }

    /// Writes every byte, retrying short writes; returns 0 or the errno of the failure.
    private func writeAll(_ bytes: UnsafeRawBufferPointer) -> Int32 {
        guard var next = bytes.baseAddress else { return 0 }
        var left = bytes.count
        while left > 0 {
            let written = write(descriptor, next, left)
            if written < 0 {
                if errno == EINTR { continue }
                return errno
            }
            left -= written
            next += written
        }
        return 0
    }

    /// Flushes the data to disk and renames the temporary file to `path`.
    func commit() throws(ModelIOError) {
        guard fsync(descriptor) == 0 else {
            throw ModelIOError(path: path, "cannot flush to disk: \(String(cString: strerror(errno)))")
        }
        let status = close(descriptor)
        descriptor = -1
        guard status == 0 else {
            unlink(temporaryPath)
            throw ModelIOError(path: path, "cannot close: \(String(cString: strerror(errno)))")
        }
        guard rename(temporaryPath, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporaryPath)
            throw ModelIOError(path: path, "cannot rename \(temporaryPath) into place: \(reason)")
        }
    }
}
