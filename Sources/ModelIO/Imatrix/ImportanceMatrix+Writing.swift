extension ImportanceMatrix {
    /// Writes the GGUF layout llama.cpp reads (`llama-quantize --imatrix`, `llama-imatrix
    /// --in-file`): `general.type = imatrix`, `imatrix.datasets`, `imatrix.chunk_count`,
    /// `imatrix.chunk_size`, and per entry (sorted by name) `<name>.in_sum2` F32 {n_in, 1} and
    /// `<name>.counts` F32 {1, 1}. Written to a temporary file and renamed into place.
    ///
    /// - Throws: `ModelIOError` naming `path` for an I/O error.
    public func write(to path: String) throws(ModelIOError) {
        var metadata = GGUFMetadata()
        metadata[Keys.type] = .string("imatrix")
        metadata[Keys.datasets] = .array(.string, datasets.map(GGUFValue.string))
        metadata[Keys.chunkCount] = .uint32(UInt32(clamping: chunkCount ?? 0))
        metadata[Keys.chunkSize] = .uint32(UInt32(clamping: chunkSize ?? 0))
        var tensors: [GGUFWriter.Entry] = []
        for name in entries.keys.sorted() {
            let entry = entries[name]!
            let sums = TensorStorage(count: entry.sumOfSquares.count) {
                _ = $0.update(fromContentsOf: entry.sumOfSquares)
            }
            let count = TensorStorage(count: 1) { $0[0] = Float(entry.count) }
            tensors.append(
                GGUFWriter.Entry(
                    tensor: Tensor(name: name + Keys.sums, shape: [1, entry.sumOfSquares.count], storage: sums),
                    type: .f32))
            tensors.append(
                GGUFWriter.Entry(tensor: Tensor(name: name + Keys.counts, shape: [1, 1], storage: count), type: .f32))
        }
        try GGUFWriter.write(metadata: metadata, tensors: tensors, to: path)
    }
}
