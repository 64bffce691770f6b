#if canImport(Darwin)
    import Darwin
#else
    import Glibc
#endif

/// A whole file mapped read-only into memory; unmapped when the last reference goes away.
final class MappedFile: @unchecked Sendable {
    // @unchecked Sendable: the mapping is read-only and immutable for the object's lifetime.

    /// The file's bytes (empty for an empty file).
    let bytes: UnsafeRawBufferPointer

    /// Maps the file at `path`.
    ///
    /// - Throws: `ModelIOError` if it cannot be opened, is not a regular file, or cannot be mapped.
    init(path: String) throws(ModelIOError) {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw ModelIOError(path: path, "cannot open: \(lastErrorText())") }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { throw ModelIOError(path: path, "cannot stat: \(lastErrorText())") }
        guard (status.st_mode & S_IFMT) == S_IFREG else { throw ModelIOError(path: path, "not a regular file") }
        let size = Int(status.st_size)
        guard size > 0 else {
            bytes = UnsafeRawBufferPointer(start: nil, count: 0)
            return
        }
        guard let address = mmap(nil, size, PROT_READ, MAP_PRIVATE, descriptor, 0), address != MAP_FAILED else {
            throw ModelIOError(path: path, "cannot map \(size) bytes into memory: \(lastErrorText())")
        }
        bytes = UnsafeRawBufferPointer(start: address, count: size)
    }

    /// Drops the pages of `range` (byte offsets into the file) from this process's resident set;
    /// they stay in the kernel's page cache, and a later read maps them back. Only whole pages
    /// inside the range are dropped, so neighbouring data is never touched.
    func releasePages(_ range: Range<Int>) {
        if let base = bytes.baseAddress { ResidentPages.release(range, of: base) }
    }

    deinit {
        if let base = bytes.baseAddress { munmap(UnsafeMutableRawPointer(mutating: base), bytes.count) }
    }
}
