import JSON

/// Writes Float32 tensors as safetensors files, single or sharded.
///
/// The layout follows the reference library: tensors sorted by name (all share one dtype, and
/// the reference sorts by descending dtype alignment, then name), data packed back to back, a
/// compact JSON header with `__metadata__` first, padded with spaces to a multiple of 8 bytes.
public enum SafetensorsWriter {
    /// The default shard size limit: 5·10⁹ bytes, `huggingface_hub`'s and transformers 4.x's
    /// "5GB" (transformers 5 raised its default to 50GB; smaller shards load everywhere).
    public static let defaultMaxShardSize = 5_000_000_000

    /// The file name of one shard, as `transformers` names them (`model-00001-of-00003.safetensors`).
    public static func shardFileName(_ index: Int, of count: Int) -> String {
        func padded(_ n: Int) -> String { String(repeating: "0", count: max(0, 5 - String(n).count)) + String(n) }
        return "model-\(padded(index))-of-\(padded(count)).safetensors"
    }

    /// The complete header block (length prefix + padded JSON) for `tensors` stored as `type`,
    /// with the tensors in the order their data must follow.
    public static func header(
        for tensors: [Tensor], type: SafetensorsDType, metadata: [String: String], path: String
    ) throws(ModelIOError) -> (bytes: [UInt8], order: [Tensor]) {
        let order = tensors.sorted { $0.name.utf8.lexicographicallyPrecedes($1.name.utf8) }
        let bytes = try header(laying: order.map { ($0.name, $0.shape) }, type: type, metadata: metadata, path: path)
        return (bytes, order)
    }

    /// The header block for tensors whose data follow one another in the order given (the JSON
    /// lists them by name; the offsets follow `layout`).
    ///
    /// - Throws: `ModelIOError` for a repeated or reserved name.
    static func header(
        laying layout: [(name: String, shape: [Int])], type: SafetensorsDType, metadata: [String: String],
        path: String
    ) throws(ModelIOError) -> [UInt8] {
        var entries: [(key: String, value: JSONValue)] = []
        var seen = Set<String>()
        var offset = 0
        for (name, shape) in layout {
            guard seen.insert(name).inserted else {
                throw ModelIOError(path: path, item: name, "tensor name appears twice")
            }
            if name == "__metadata__" {
                throw ModelIOError(path: path, item: name, "reserved name cannot be a tensor")
            }
            let byteCount = shape.reduce(1, *) * type.byteCount
            entries.append(
                (
                    name,
                    .object([
                        ("dtype", .string(type.rawValue)),
                        ("shape", .array(shape.map { .integer($0) })),
                        ("data_offsets", .array([.integer(offset), .integer(offset + byteCount)])),
                    ])
                ))
            offset += byteCount
        }
        var members: [(key: String, value: JSONValue)] = []
        if !metadata.isEmpty {
            let sortedMetadata = metadata.sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
            members.append(("__metadata__", .object(sortedMetadata.map { ($0.key, .string($0.value)) })))
        }
        members += entries.sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
        var json = JSONWriter.compact(.object(members))
        json.append(contentsOf: repeatElement(UInt8(ascii: " "), count: (8 - json.count % 8) % 8))
        var bytes = withUnsafeBytes(of: UInt64(json.count).littleEndian) { Array($0) }
        bytes.append(contentsOf: json)
        return bytes
    }

    /// Writes `tensors` (under their own names) to a new file at `path` as `type`.
    ///
    /// - Throws: `ModelIOError` if `path` exists, a name repeats, or the file cannot be written.
    public static func write(
        _ tensors: [Tensor], type: SafetensorsDType, metadata: [String: String] = [:], to path: String
    ) throws(ModelIOError) {
        let (header, order) = try header(for: tensors, type: type, metadata: metadata, path: path)
        let file = try AtomicOutputFile(path: path, replacingExisting: false)
        try file.write(header)
        let chunkElements = 1 << 20
        let scratch = UnsafeMutableRawPointer.allocate(byteCount: chunkElements * type.byteCount, alignment: 64)
        defer { scratch.deallocate() }
        for tensor in order {
            let storage = tensor.storage
            defer { withExtendedLifetime(storage) {} }
            let elements = UnsafeBufferPointer(storage.buffer)
            if type == .f32 {
                try file.write(UnsafeRawBufferPointer(elements))
                continue
            }
            var start = 0
            while start < elements.count {
                let end = min(start + chunkElements, elements.count)
                SafetensorsConversion.encode(
                    UnsafeBufferPointer(rebasing: elements[start..<end]), as: type, into: scratch)
                try file.write(UnsafeRawBufferPointer(start: scratch, count: (end - start) * type.byteCount))
                start = end
            }
        }
        try file.commit()
    }

    /// Splits `tensors` (in the given order) into shards the way `huggingface_hub` does: a
    /// tensor larger than `maxShardSize` gets a shard of its own, otherwise a new shard starts
    /// when the next tensor would not fit.
    public static func shardPlan(_ tensors: [Tensor], type: SafetensorsDType, maxShardSize: Int) -> [[Tensor]] {
        var shards: [[Tensor]] = []
        var current: [Tensor] = []
        var currentSize = 0
        for tensor in tensors {
            let size = tensor.count * type.byteCount
            if size > maxShardSize {
                shards.append([tensor])
                continue
            }
            if currentSize + size > maxShardSize && !current.isEmpty {
                shards.append(current)
                current = []
                currentSize = 0
            }
            current.append(tensor)
            currentSize += size
        }
        if !current.isEmpty || shards.isEmpty { shards.append(current) }
        return shards
    }

    /// Writes `tensors` into the existing `directory` as `model.safetensors`, or, when they
    /// exceed `maxShardSize` bytes, as numbered shards plus `model.safetensors.index.json`.
    ///
    /// - Returns: The names of the files written, the index last.
    @discardableResult
    public static func writeCheckpoint(
        _ tensors: [Tensor], type: SafetensorsDType, metadata: [String: String] = [:], directory: String,
        maxShardSize: Int = defaultMaxShardSize
    ) throws(ModelIOError) -> [String] {
        let shards = shardPlan(tensors, type: type, maxShardSize: max(1, maxShardSize))
        if shards.count == 1 {
            try write(
                tensors, type: type, metadata: metadata, to: directory + "/" + SafetensorsCheckpoint.singleFileName)
            return [SafetensorsCheckpoint.singleFileName]
        }
        var names: [String] = []
        var weightMap: [(key: String, value: JSONValue)] = []
        for (index, shard) in shards.enumerated() {
            let name = shardFileName(index + 1, of: shards.count)
            try write(shard, type: type, metadata: metadata, to: directory + "/" + name)
            names.append(name)
            weightMap += shard.map { ($0.name, .string(name)) }
        }
        weightMap.sort { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
        let totalSize = tensors.reduce(0) { $0 + $1.count * type.byteCount }
        let index = JSONValue.object([
            ("metadata", .object([("total_size", .integer(totalSize))])),
            ("weight_map", .object(weightMap)),
        ])
        try AtomicOutputFile.write(JSONWriter.pretty(index), to: directory + "/" + SafetensorsCheckpoint.indexFileName)
        names.append(SafetensorsCheckpoint.indexFileName)
        return names
    }
}
