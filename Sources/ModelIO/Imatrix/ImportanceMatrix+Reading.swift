extension ImportanceMatrix {
    /// The GGUF metadata keys and tensor suffixes of the GGUF layout.
    enum Keys {
        static let type = "general.type"
        static let datasets = "imatrix.datasets"
        static let chunkCount = "imatrix.chunk_count"
        static let chunkSize = "imatrix.chunk_size"
        static let sums = ".in_sum2"
        static let counts = ".counts"
        static let linearSums = ".in_sum"
    }

    /// Reads an importance matrix in either of llama.cpp's layouts: GGUF (recognised by its
    /// magic) or the legacy `.dat`.
    ///
    /// - Throws: `ModelIOError` naming the file and the entry at fault: a truncated file, a GGUF
    ///   that is not an imatrix (a model file), a sum without its count, a matrix with several
    ///   experts (`n_mat > 1`), a count of zero, a negative or non-finite sum.
    public init(path: String) throws(ModelIOError) {
        let mapping = try MappedFile(path: path)
        if mapping.bytes.count >= 4, Array(mapping.bytes[0..<4]) == GGUFFormat.magic {
            self = try Self.readGGUF(GGUFFile(path: path))
        } else {
            self = try Self.readLegacy(mapping.bytes, path: path)
        }
    }

    private static func readGGUF(_ file: GGUFFile) throws(ModelIOError) -> ImportanceMatrix {
        let path = file.path
        guard let type = file.metadata[Keys.type]?.string, type == "imatrix" else {
            let found = file.metadata[Keys.type]?.string.map { "'\($0)'" } ?? "absent"
            throw ModelIOError(
                path: path, item: Keys.type,
                "is \(found), not 'imatrix': give an importance matrix made by llama-imatrix or shears imatrix, "
                    + "not a model")
        }
        var entries: [Entry] = []
        for info in file.tensors where info.name.hasSuffix(Keys.sums) {
            let name = String(info.name.dropLast(Keys.sums.count))
            guard let countInfo = file.tensorInfo(named: name + Keys.counts) else {
                throw ModelIOError(path: path, item: info.name, "has no \(name + Keys.counts) tensor beside it")
            }
            let sums = try floats(file, info)
            let counts = try floats(file, countInfo)
            guard info.dimensions.count <= 2, counts.count == (info.dimensions.count == 2 ? info.dimensions[1] : 1)
            else {
                throw ModelIOError(
                    path: path, item: info.name,
                    "dimensions \(info.dimensions) do not fit \(countInfo.name) \(countInfo.dimensions)")
            }
            guard counts.count == 1 else {
                throw ModelIOError(
                    path: path, item: info.name,
                    "holds \(counts.count) expert matrices; Shears prunes dense models (one matrix per entry)")
            }
            entries.append(try entry(name: name, sums: sums, count: Double(counts[0]), path: path, item: info.name))
        }
        for info in file.tensors where info.name.hasSuffix(Keys.counts) {
            let name = String(info.name.dropLast(Keys.counts.count))
            guard file.tensorInfo(named: name + Keys.sums) != nil else {
                throw ModelIOError(path: path, item: info.name, "has no \(name + Keys.sums) tensor beside it")
            }
        }
        guard !entries.isEmpty else { throw ModelIOError(path: path, "holds no \(Keys.sums) tensors: no statistics") }
        let datasets = file.metadata[Keys.datasets]?.array?.compactMap(\.string) ?? []
        return ImportanceMatrix(
            path: path, format: .gguf, entries: entries, datasets: datasets,
            chunkCount: file.metadata[Keys.chunkCount]?.int, chunkSize: file.metadata[Keys.chunkSize]?.int)
    }

    /// A tensor of the file as Float32 values (read from the mapping, which `file` keeps alive);
    /// it must be stored as F32.
    private static func floats(_ file: GGUFFile, _ info: GGUFTensorInfo) throws(ModelIOError) -> [Float] {
        guard info.type == .f32 else {
            throw ModelIOError(
                path: file.path, item: info.name, "is stored as \(info.type.name); imatrix tensors are F32")
        }
        let raw = file.rawData(of: info)
        return (0..<info.elementCount).map { raw.loadUnaligned(fromByteOffset: 4 * $0, as: Float.self) }
    }

    /// Checks one entry's values.
    private static func entry(
        name: String, sums: [Float], count: Double, path: String, item: String
    ) throws(ModelIOError) -> Entry {
        guard count > 0, count.isFinite else {
            throw ModelIOError(path: path, item: item, "its count is \(count): no activations were recorded")
        }
        if let bad = sums.firstIndex(where: { !($0 >= 0) || !$0.isFinite }) {
            throw ModelIOError(
                path: path, item: item, "channel \(bad) holds \(sums[bad]); sums of squares are finite and ≥ 0")
        }
        guard !sums.isEmpty else { throw ModelIOError(path: path, item: item, "has no channels") }
        return Entry(name: name, sumOfSquares: sums, count: count)
    }

    /// The legacy layout: int32 entry count; per entry an int32 name length, the name, int32
    /// calls, int32 value count and that many float32 (mean × calls); then an int32 chunk count
    /// and an int32-length dataset name (both optional in old files). Little-endian.
    private static func readLegacy(
        _ bytes: UnsafeRawBufferPointer, path: String
    ) throws(ModelIOError) -> ImportanceMatrix {
        var reader = LegacyReader(bytes: bytes, path: path)
        let count = try reader.int32(what: "entry count", entry: nil)
        guard count >= 1 else {
            throw ModelIOError(
                path: path,
                "is neither a GGUF imatrix nor a legacy .dat one (its first int32, the entry count, is \(count))")
        }
        var entries: [Entry] = []
        for index in 0..<Int(count) {
            let label = "entry \(index + 1) of \(count)"
            let length = try reader.int32(what: "name length", entry: label)
            guard (1...1024).contains(length) else {
                throw ModelIOError(
                    path: path, item: label, "name length \(length) is not plausible: not an imatrix file")
            }
            let name = try reader.string(Int(length), what: "name", entry: label)
            let calls = try reader.int32(what: "call count", entry: name)
            let values = try reader.int32(what: "value count", entry: name)
            guard values >= 1 else { throw ModelIOError(path: path, item: name, "has \(values) values") }
            let sums = try reader.floats(Int(values), entry: name)
            entries.append(try entry(name: name, sums: sums, count: Double(calls), path: path, item: name))
        }
        var chunks: Int?
        var datasets: [String] = []
        if reader.remaining >= 4 {
            chunks = Int(try reader.int32(what: "chunk count", entry: nil))
            if reader.remaining >= 4 {
                let length = try reader.int32(what: "dataset name length", entry: nil)
                guard length >= 0 else { throw ModelIOError(path: path, "dataset name length \(length) is negative") }
                datasets = [try reader.string(Int(length), what: "dataset name", entry: nil)]
            }
        }
        guard reader.remaining == 0 else {
            throw ModelIOError(path: path, "\(reader.remaining) unexpected bytes after the last entry")
        }
        return ImportanceMatrix(path: path, format: .legacy, entries: entries, datasets: datasets, chunkCount: chunks)
    }
}

/// Bounds-checked little-endian reads of a legacy imatrix file.
private struct LegacyReader {
    let bytes: UnsafeRawBufferPointer
    let path: String
    var offset = 0

    var remaining: Int { bytes.count - offset }

    private func need(_ count: Int, what: String, entry: String?) throws(ModelIOError) {
        guard count <= remaining else {
            throw ModelIOError(
                path: path, item: entry,
                "truncated: the \(what) needs \(count) bytes at offset \(offset), the file ends after \(remaining)")
        }
    }

    mutating func int32(what: String, entry: String?) throws(ModelIOError) -> Int32 {
        try need(4, what: what, entry: entry)
        let value = Int32(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: Int32.self))
        offset += 4
        return value
    }

    mutating func string(_ count: Int, what: String, entry: String?) throws(ModelIOError) -> String {
        try need(count, what: what, entry: entry)
        let text = String(decoding: bytes[offset..<(offset + count)], as: UTF8.self)
        offset += count
        return text
    }

    mutating func floats(_ count: Int, entry: String) throws(ModelIOError) -> [Float] {
        try need(count * 4, what: "\(count) values", entry: entry)
        let values = (0..<count).map { index in
            Float(
                bitPattern: UInt32(
                    littleEndian: bytes.loadUnaligned(fromByteOffset: offset + 4 * index, as: UInt32.self)))
        }
        offset += count * 4
        return values
    }
}
