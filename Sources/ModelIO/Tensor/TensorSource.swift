/// Where a streamed tensor's elements wait until they are read: encoded bytes in a mapped GGUF
/// file, or Float32 bytes in a model's spill file or a prune journal's layer file (a pruned layer
/// moved out of memory). Decoding
/// goes through the model's `TensorCache`, so a layer read by many calls is decoded once while it
/// is in use, and memory stays bounded by the cache's budget plus what callers hold.
package final class TensorSource: @unchecked Sendable {
    // @unchecked Sendable: every stored property is immutable; the cache and the files are
    // thread-safe for reading.

    /// The bytes behind the tensor.
    package enum Backing: Sendable {
        /// A tensor of a mapped GGUF file, in its stored type.
        case gguf(GGUFFile, GGUFTensorInfo)
        /// Float32 elements at a byte offset of a spill file.
        case spill(TensorSpillFile, offset: Int)
        /// A tensor of a mapped safetensors file (a prune journal's layer file).
        case safetensors(SafetensorsFile, SafetensorsTensorInfo)
    }

    /// The bytes behind the tensor.
    package let backing: Backing
    /// Number of elements.
    package let count: Int
    /// Applied to the decoded elements (e.g. the GGUF row order of a Hugging Face-ordered file).
    private let transform: (@Sendable (TensorStorage) -> TensorStorage)?
    /// Weak: the model owns its cache, and the cache's entries own their sources.
    private weak var cache: TensorCache?

    /// A source decoding `backing` (of `count` elements) through `cache`, then `transform`.
    package init(
        _ backing: Backing, count: Int, cache: TensorCache,
        transform: (@Sendable (TensorStorage) -> TensorStorage)? = nil
    ) {
        self.backing = backing
        self.count = count
        self.cache = cache
        self.transform = transform
    }

    /// The elements, decoded now or taken from the cache.
    package func load() -> TensorStorage {
        guard let cache else { return decode() }
        return cache.storage(for: self, decode: decode)
    }

    /// Whether `decodeRow(_:into:)` can decode single rows (a GGUF or spill backing, no transform).
    package var decodesRows: Bool {
        if case .safetensors = backing { return false }
        return transform == nil
    }

    /// Decodes row `row` of a matrix with `destination.count` columns into `destination`, without
    /// decoding (or caching) the rest: for embedding lookups. Requires `decodesRows`.
    package func decodeRow(_ row: Int, into destination: UnsafeMutableBufferPointer<Float>) {
        precondition(decodesRows, "rows of a transformed tensor cannot be decoded alone")
        let columns = destination.count
        precondition(columns > 0 && count % columns == 0 && (0..<(count / columns)).contains(row), "row out of range")
        switch backing {
        case .gguf(let file, let info):
            Self.dequantize(rows: row..<(row + 1), of: file, info, into: destination)
        case .spill(let file, let offset):
            file.read(offset: offset + row * columns * MemoryLayout<Float>.stride, into: destination)
        case .safetensors:
            preconditionFailure("rows of a safetensors-backed tensor are not decoded alone")
        }
    }

    /// The first non-finite element in file order (index and value), or nil: decoded a block of
    /// rows at a time into a small buffer, so that checking a tensor neither holds nor caches it.
    package func firstNonFinite(columns: Int) -> (index: Int, value: Float)? {
        guard case .gguf(let file, let info) = backing else { return load().firstNonFinite() }
        let rows = count / columns
        let rowsPerBlock = max(1, (1 << 20) / columns)
        let block = TensorStorage(zeros: min(rows, rowsPerBlock) * columns)
        defer { file.releasePages(of: info) }
        var first = 0
        while first < rows {
            let last = min(rows, first + rowsPerBlock)
            let piece = UnsafeMutableBufferPointer(rebasing: block.buffer[0..<((last - first) * columns)])
            Self.dequantize(rows: first..<last, of: file, info, into: piece)
            if let index = TensorStorage.firstNonFiniteIndex(in: UnsafeBufferPointer(piece)) {
                return (first * columns + index, piece[index])
            }
            first = last
        }
        return nil
    }

    /// Drops the tensor's mapped file pages from the resident set (after row lookups).
    package func releasePages() {
        if case .gguf(let file, let info) = backing { file.releasePages(of: info) }
    }

    /// Decodes the elements afresh.
    private func decode() -> TensorStorage {
        let storage = TensorStorage(zeros: count)
        switch backing {
        case .gguf(let file, let info):
            // A block of rows at a time, each block's file pages dropped from the resident set once
            // decoded (they stay in the page cache): a 2 GB output projection never holds its
            // encoded bytes and its Float32 copy in memory together.
            let columns = info.dimensions[0], rows = count / columns
            let rowBytes = Self.rowBytes(info)
            let rowsPerBlock = max(1, (64 << 20) / max(rowBytes, 1))
            var first = 0
            while first < rows {
                let last = min(rows, first + rowsPerBlock)
                Self.dequantize(
                    rows: first..<last, of: file, info,
                    into: UnsafeMutableBufferPointer(rebasing: storage.buffer[(first * columns)..<(last * columns)]))
                file.releasePages(of: info, bytes: (first * rowBytes)..<(last * rowBytes))
                first = last
            }
            file.releasePages(of: info) // the pages straddling block boundaries
        case .spill(let file, let offset):
            file.read(offset: offset, into: storage.buffer)
        case .safetensors(let file, let info):
            file.decode(info, into: storage.buffer)
        }
        return transform.map { $0(storage) } ?? storage
    }

    /// Bytes of one row of a GGUF matrix in its stored type.
    private static func rowBytes(_ info: GGUFTensorInfo) -> Int {
        info.dimensions[0] / info.type.blockSize * info.type.bytesPerBlock
    }

    /// Dequantizes rows `rows` of a GGUF matrix into `destination` (`rows.count` rows).
    private static func dequantize(
        rows: Range<Int>, of file: GGUFFile, _ info: GGUFTensorInfo, into destination: UnsafeMutableBufferPointer<Float>
    ) {
        let rowBytes = rowBytes(info)
        Dequantization.dequantize(
            UnsafeRawBufferPointer(
                rebasing: file.rawData(of: info)[(rows.lowerBound * rowBytes)..<(rows.upperBound * rowBytes)]),
            type: info.type, into: destination)
    }
}
