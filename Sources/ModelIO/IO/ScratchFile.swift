#if canImport(Darwin)
    import Darwin
#else
    import Glibc
#endif

/// Scratch files that leave nothing behind: created in a directory and unlinked at once.
enum ScratchFile {
    /// Opens a new file named `prefix` plus a random suffix in `directory`, read-write and
    /// close-on-exec, and unlinks it; the descriptor is the caller's to close.
    ///
    /// - Throws: `ModelIOError` naming the directory, with `what` the file is for.
    static func createUnlinked(in directory: String, prefix: String, for what: String) throws(ModelIOError) -> Int32 {
        var template = Array((directory.hasSuffix("/") ? directory : directory + "/").utf8CString.dropLast())
        template += Array("\(prefix)XXXXXX".utf8CString)
        let descriptor = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard descriptor >= 0 else {
            throw ModelIOError(
                path: directory,
                "cannot create a scratch file for \(what): \(lastErrorText()); choose another directory "
                    + "with --scratch-dir (or the recipe's scratch_dir)")
        }
        template.withUnsafeBufferPointer { _ = unlink($0.baseAddress!) }
        _ = fcntl(descriptor, F_SETFD, FD_CLOEXEC)
        return descriptor
    }
}
