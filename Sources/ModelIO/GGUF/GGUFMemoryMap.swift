#if canImport(Darwin)
import Darwin
#else
import Glibc
#endif

/// A whole file mapped read-only into memory; unmapped when the object goes away.
final class GGUFMemoryMap: @unchecked Sendable {
    // @unchecked Sendable: the mapping is read-only and immutable for the object's lifetime.

    /// The file's bytes.
    let bytes: UnsafeRawBufferPointer

    /// Maps `path`; an empty file yields an empty buffer.
    init(path: String) throws(ModelIOError) {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw ModelIOError(path: path, "cannot open: \(String(cString: strerror(errno)))")
        }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else {
            throw ModelIOError(path: path, "cannot stat: \(String(cString: strerror(errno)))")
        }
        guard (status.st_mode & S_IFMT) == S_IFREG else {
            throw ModelIOError(path: path, "not a regular file")
        }
        let size = Int(status.st_size)
        guard size > 0 else {
            bytes = UnsafeRawBufferPointer(start: nil, count: 0)
            return
        }
        let address = mmap(nil, size, PROT_READ, MAP_PRIVATE, descriptor, 0)
        guard let address, address != MAP_FAILED else {
            throw ModelIOError(path: path, "cannot map into memory: \(String(cString: strerror(errno)))")
        }
        bytes = UnsafeRawBufferPointer(start: address, count: size)
    }

    deinit {
        if let base = bytes.baseAddress { munmap(UnsafeMutableRawPointer(mutating: base), bytes.count) }
    }
}
