/// A contiguous, 64-byte-aligned buffer of `Float` owned by a reference type.
///
/// Tensors share storage by reference so that large weight matrices are never copied by
/// accident; code that mutates a storage in place must own it (for example a freshly
/// dequantized tensor). The buffer is freed when the last reference goes away.
public final class TensorStorage: @unchecked Sendable {
    // @unchecked Sendable: the buffer is fixed at init; callers coordinate mutation themselves,
    // exactly as with any UnsafeMutableBufferPointer handed to a kernel.

    /// The elements. Valid for the lifetime of this object; do not let the pointer escape it.
    public let buffer: UnsafeMutableBufferPointer<Float>

    /// Allocates `count` elements, all zero.
    public init(zeros count: Int) {
        precondition(count >= 0, "negative element count")
        let raw = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1) * MemoryLayout<Float>.stride, alignment: 64)
        let typed = raw.initializeMemory(as: Float.self, repeating: 0, count: max(count, 1))
        buffer = UnsafeMutableBufferPointer(start: typed, count: count)
    }

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
        UnsafeMutableRawPointer(buffer.baseAddress!).deallocate()
    }

    /// Number of elements.
    public var count: Int { buffer.count }

    /// A copy of the elements as an array (for tests and small tensors).
    public var array: [Float] { Array(buffer) }
}
