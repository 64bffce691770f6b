#if canImport(Darwin)
    import Darwin
#else
    import Glibc
#endif

/// A scratch file holding Float32 tensors that a streamed model moved out of memory (pruned
/// layers awaiting the writer). It is created and unlinked at once in its directory, so it
/// leaves nothing behind however the process ends; its pages live in the kernel's page cache,
/// outside the process's resident set. Appends come from one thread; reads from any.
package final class TensorSpillFile: @unchecked Sendable {
    // @unchecked Sendable: `end` changes only in `append`, which the model calls from one thread;
    // `pread` reads are independent of it.

    /// The directory the file was created in (for messages).
    package let directory: String
    private let descriptor: Int32
    /// Bytes written so far.
    private var end = 0

    /// Creates the unlinked scratch file in `directory`.
    ///
    /// - Throws: `ModelIOError` naming the directory when the file cannot be created.
    package init(directory: String) throws(ModelIOError) {
        self.directory = directory
        let made = try ScratchFile.createUnlinked(in: directory, prefix: "shears-spill-", for: "pruned layers")
        descriptor = made
    }

    deinit { close(descriptor) }

    /// Bytes written so far.
    package var byteCount: Int { end }

    /// Appends `elements` and returns their byte offset.
    ///
    /// - Throws: `ModelIOError` naming the directory when the write fails (a full disk among
    ///   others); the file is then left as it was before the call, as far as readers can tell.
    package func append(_ elements: UnsafeBufferPointer<Float>) throws(ModelIOError) -> Int {
        let offset = end
        let total = elements.count * MemoryLayout<Float>.stride
        guard let base = elements.baseAddress else { return offset }
        let bytes = UnsafeRawPointer(base)
        let failure = transfer(total, at: offset) { done, count, at in pwrite(descriptor, bytes + done, count, at) }
        if let failure {
            _ = ftruncate(descriptor, off_t(offset))
            throw ModelIOError(
                path: directory,
                "cannot write \(total) bytes of a pruned tensor to the scratch file (\(end) bytes already "
                    + "there): \(failure); free space there or choose another directory with --scratch-dir")
        }
        end += total
        return offset
    }

    /// Reads `destination.count` elements written at byte `offset` by `append`.
    package func read(offset: Int, into destination: UnsafeMutableBufferPointer<Float>) {
        let total = destination.count * MemoryLayout<Float>.stride
        precondition(offset >= 0 && offset + total <= end, "spill read outside the written bytes")
        guard let base = destination.baseAddress else { return }
        let bytes = UnsafeMutableRawPointer(base)
        let failure = transfer(total, at: offset) { done, count, at in pread(descriptor, bytes + done, count, at) }
        // Bytes this process wrote to its own unlinked file: failing to read them back is a
        // failing disk, which no caller can repair.
        if let failure {
            fatalError("the scratch file in \(directory) cannot be read back: \(failure)")
        }
    }

    /// Moves `total` bytes at file offset `offset` by `step(bytesDone, count, fileOffset)` (a
    /// `pread` or `pwrite` of at most 1 GiB), retrying short transfers and interrupted calls.
    /// Returns nil when all moved, else what went wrong.
    private func transfer(_ total: Int, at offset: Int, _ step: (Int, Int, off_t) -> Int) -> String? {
        var done = 0
        while done < total {
            let moved = step(done, min(total - done, 1 << 30), off_t(offset + done))
            if moved < 0 && errno == EINTR { continue }
            guard moved > 0 else { return moved == 0 ? "no bytes moved" : lastErrorText() }
            done += moved
        }
        return nil
    }
}
