#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The safetensors weights of a Hugging Face model directory: either one `model.safetensors` or
/// shards listed by `model.safetensors.index.json` (its `weight_map` maps tensor → shard file).
///
/// Opening validates every file's header and the index against the shards: each listed shard
/// must exist and hold the tensors listed for it, and no shard may hold a tensor the index does
/// not list for it.
public final class SafetensorsCheckpoint: Sendable {
    /// Name of a single-file checkpoint.
    public static let singleFileName = "model.safetensors"
    /// Name of the index of a sharded checkpoint.
    public static let indexFileName = "model.safetensors.index.json"

    /// The directory.
    public let directory: String
    /// The files, in shard order (one for a single-file checkpoint).
    public let files: [SafetensorsFile]
    /// Tensor names: the files' names in order, each file's in data-offset order.
    public let tensorNames: [String]
    private let fileIndexByTensor: [String: Int]

    /// Opens the checkpoint in `directory` (the index wins if both forms are present).
    ///
    /// - Throws: `ModelIOError` naming the file and tensor at fault.
    public init(directory: String) throws(ModelIOError) {
        self.directory = directory
        let indexPath = directory + "/" + Self.indexFileName
        if access(indexPath, F_OK) == 0 {
            (files, fileIndexByTensor) = try Self.openSharded(indexPath: indexPath, directory: directory)
        } else {
            let singlePath = directory + "/" + Self.singleFileName
            guard access(singlePath, F_OK) == 0 else {
                throw ModelIOError(path: directory, "has neither \(Self.singleFileName) nor \(Self.indexFileName)")
            }
            let file = try SafetensorsFile(path: singlePath)
            files = [file]
            fileIndexByTensor = Dictionary(uniqueKeysWithValues: file.tensorNames.map { ($0, 0) })
        }
        tensorNames = files.flatMap(\.tensorNames)
    }

    /// The header entry of tensor `name`, if the checkpoint has it.
    public func info(_ name: String) -> SafetensorsTensorInfo? {
        fileIndexByTensor[name].flatMap { files[$0].info(name) }
    }

    /// Reads tensor `name` as Float32.
    public func tensor(_ name: String) throws(ModelIOError) -> Tensor {
        guard let fileIndex = fileIndexByTensor[name] else {
            throw ModelIOError(path: directory, item: name, "tensor is not in the checkpoint")
        }
        return try files[fileIndex].tensor(name)
    }

    /// The `__metadata__` of the first file.
    public var metadata: [String: String] { files.first?.metadata ?? [:] }

    private static func openSharded(
        indexPath: String, directory: String
    ) throws(ModelIOError) -> ([SafetensorsFile], [String: Int]) {
        let json = try HuggingFaceJSONFile.read(indexPath)
        guard let weightMap = json["weight_map"]?.members else {
            throw ModelIOError(path: indexPath, item: "weight_map", "missing or not an object")
        }
        var shardOrder: [String] = []
        var tensorsByShard: [String: [String]] = [:]
        var shardByTensor: [String: String] = [:]
        for (tensor, value) in weightMap {
            guard let shard = value.string else {
                throw ModelIOError(
                    path: indexPath, item: tensor, "weight_map entry is \(value.kindName), not a file name")
            }
            guard !shard.isEmpty, !shard.contains("/"), shard != ".", shard != ".." else {
                throw ModelIOError(
                    path: indexPath, item: tensor, "shard \"\(shard)\" is not a plain file name in the model directory")
            }
            guard shardByTensor.updateValue(shard, forKey: tensor) == nil else {
                throw ModelIOError(path: indexPath, item: tensor, "tensor is listed twice in weight_map")
            }
            if tensorsByShard[shard] == nil { shardOrder.append(shard) }
            tensorsByShard[shard, default: []].append(tensor)
        }
        shardOrder.sort { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        var files: [SafetensorsFile] = []
        var fileIndexByTensor: [String: Int] = [:]
        for shard in shardOrder {
            let shardPath = directory + "/" + shard
            guard access(shardPath, F_OK) == 0 else {
                throw ModelIOError(
                    path: indexPath, item: tensorsByShard[shard]![0],
                    "shard \(shard) listed for this tensor does not exist")
            }
            let file = try SafetensorsFile(path: shardPath)
            for tensor in tensorsByShard[shard]! where file.info(tensor) == nil {
                throw ModelIOError(
                    path: shardPath, item: tensor,
                    "tensor is listed in \(indexFileName) for this shard but the shard does not have it")
            }
            for tensor in file.tensorNames where shardByTensor[tensor] != shard {
                throw ModelIOError(
                    path: shardPath, item: tensor, "tensor is in this shard but \(indexFileName) does not list it here")
            }
            for tensor in file.tensorNames { fileIndexByTensor[tensor] = files.count }
            files.append(file)
        }
        return (files, fileIndexByTensor)
    }
}
