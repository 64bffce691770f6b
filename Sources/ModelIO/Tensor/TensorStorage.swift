#if canImport(Darwin)
    import Darwin
#else
    import Glibc
#endif

/// A contiguous, 64-byte-aligned buffer of `Float` owned by a reference type.
///
/// Tensors share storage by reference so that large weight matrices are never copied by
/// accident; code that mutates a storage in place must own it (for example a freshly
/// dequantized tensor). The buffer is freed when the last reference goes away. It is heap memory,
/// or (`init(zeros:scratchDirectory:)`) a mapped scratch file whose pages the kernel may write out.
public final class TensorStorage: @unchecked Sendable {
    // @unchecked Sendable: the buffer is fixed at init; callers coordinate mutation themselves,
    // exactly as with any UnsafeMutableBufferPointer handed to a kernel.

    /// The elements. Valid for the lifetime of this object; do not let the pointer escape it.
    public let buffer: UnsafeMutableBufferPointer<Float>
    /// Bytes mapped from a scratch file (0: the buffer is heap memory).
    private let mappedByteCount: Int

    /// Allocates `count` elements, all zero.
    public init(zeros count: Int) {
        precondition(count >= 0, "negative element count")
        let raw = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1) * MemoryLayout<Float>.stride, alignment: 64)
        let typed = raw.initializeMemory(as: Float.self, repeating: 0, count: max(count, 1))
        buffer = UnsafeMutableBufferPointer(start: typed, count: count)
        mappedByteCount = 0
    }

    /// `count` zeros in a file created, unlinked at once and mapped shared in `directory`: memory
    /// the kernel can write out and drop (see `releasePages(_:)`), so that large activations need
    /// not stay resident. The disk space is reserved now, so a full disk fails here, not later.
    ///
    /// - Throws: `ModelIOError` naming the directory when the file cannot be made, sized or mapped.
    package init(zeros count: Int, scratchDirectory directory: String) throws(ModelIOError) {
        precondition(count >= 0, "negative element count")
        let bytes = max(count, 1) * MemoryLayout<Float>.stride
        let descriptor = try ScratchFile.createUnlinked(
            in: directory, prefix: "shears-activations-", for: "activations")
        defer { close(descriptor) }
        let reserved = posix_fallocate(descriptor, 0, off_t(bytes))
        guard reserved == 0 else {
            throw ModelIOError(
                path: directory,
                "cannot reserve \(bytes) bytes for the activations' scratch file: \(String(cString: strerror(reserved))); "
                    + "free space there or choose another directory with --scratch-dir")
        }
        guard let address = mmap(nil, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, descriptor, 0), address != MAP_FAILED
        else {
            throw ModelIOError(path: directory, "cannot map the activations' scratch file: \(lastErrorText())")
        }
        // A reserved file reads as zeros.
        buffer = UnsafeMutableBufferPointer(start: address.assumingMemoryBound(to: Float.self), count: count)
        mappedByteCount = bytes
    }

    /// Drops the pages of the elements in `range` from the process's resident set when the buffer
    /// is a mapped scratch file (their values stay in the file and come back on the next read);
    /// does nothing for heap memory.
    package func releasePages(_ range: Range<Int>) {
        guard mappedByteCount > 0, let base = buffer.baseAddress else { return }
        let stride = MemoryLayout<Float>.stride
        ResidentPages.release((range.lowerBound * stride)..<(range.upperBound * stride), of: base)
    }

    /// Whether the buffer is a mapped scratch file.
    package var isScratchFile: Bool { mappedByteCount > 0 }

    /// Allocates `count` elements and lets `fill` initialise every one of them.
    public convenience init(count: Int, fill: (UnsafeMutableBufferPointer<Float>) throws -> Void) rethrows {
        self.init(zeros: count)
        try fill(buffer)
    }

    /// Copies `values` into a new storage.
    public convenience init(_ values: [Float]) {
        self.init(zeros: values.count)
        _ = buffer.initialize(from: values)
    }

    deinit {
        if mappedByteCount > 0 {
            munmap(UnsafeMutableRawPointer(buffer.baseAddress!), mappedByteCount)
        } else {
            UnsafeMutableRawPointer(buffer.baseAddress!).deallocate()
        }
    }

    /// Number of elements.
    public var count: Int { buffer.count }

    /// A copy of the elements as an array (for tests and small tensors).
    public var array: [Float] { Array(buffer) }
}
