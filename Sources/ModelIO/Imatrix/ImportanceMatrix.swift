/// A llama.cpp importance matrix ("imatrix"): per linear matrix of a model, the sum over the
/// calibration tokens of each input channel's squared activation, and how many tokens it sums.
///
/// The mean square `x²` of input channel `j` of a matrix is `sumOfSquares[j] / count`: the
/// per-input statistic of Wanda, RIA and OWL, and what `llama-quantize --imatrix` weighs its
/// rounding error with. Entries are named by the GGUF tensor they feed (`blk.0.attn_q.weight`).
///
/// ```swift
/// let imatrix = try ImportanceMatrix(path: "smollm2.imatrix.gguf")
/// try imatrix.check(against: model)
/// let meanSquares = imatrix.entries["blk.0.attn_q.weight"]!.meanSquares
/// ```
public struct ImportanceMatrix: Sendable {
    /// The two file layouts llama.cpp writes.
    public enum Format: String, Sendable {
        /// GGUF with `general.type = imatrix` (`<name>.in_sum2`, `<name>.counts` tensors).
        case gguf
        /// The legacy binary `.dat` layout (per entry: name, calls, mean × calls).
        case legacy
    }

    /// The statistics of one linear matrix's input.
    public struct Entry: Sendable, Equatable {
        /// The tensor the input feeds, e.g. `blk.0.attn_q.weight`.
        public var name: String
        /// Per input channel, the sum of squared activations (`in_sum2`).
        public var sumOfSquares: [Float]
        /// What the sums are over: tokens in the GGUF layout; in the legacy layout the number of
        /// chunks, the sums being scaled to match (the mean is the same either way).
        public var count: Double

        /// Creates an entry.
        public init(name: String, sumOfSquares: [Float], count: Double) {
            self.name = name
            self.sumOfSquares = sumOfSquares
            self.count = count
        }

        /// The mean of x² per input channel: `sumOfSquares / count`.
        public var meanSquares: [Float] {
            let scale = 1 / count
            return sumOfSquares.map { Float(Double($0) * scale) }
        }
    }

    /// Where it was read from (or is meant for), for messages.
    public var path: String
    /// The layout it was read in.
    public var format: Format
    /// Entries by tensor name.
    public var entries: [String: Entry]
    /// The calibration files named in it (`imatrix.datasets`).
    public var datasets: [String]
    /// Chunks (windows) it was computed over (`imatrix.chunk_count`; the legacy trailer's count).
    public var chunkCount: Int?
    /// Tokens per chunk (`imatrix.chunk_size`; unknown in the legacy layout).
    public var chunkSize: Int?

    /// An importance matrix from its parts.
    public init(
        path: String, format: Format = .gguf, entries: [Entry], datasets: [String] = [], chunkCount: Int? = nil,
        chunkSize: Int? = nil
    ) {
        self.path = path
        self.format = format
        self.entries = Dictionary(entries.map { ($0.name, $0) }, uniquingKeysWith: { _, last in last })
        self.datasets = datasets
        self.chunkCount = chunkCount
        self.chunkSize = chunkSize
    }

    /// Checks that every entry names a tensor of `model` whose input width is the entry's length:
    /// an imatrix made for another model (other names or shapes) is refused.
    ///
    /// - Throws: `ModelIOError` naming this file and the first entry that does not fit.
    public func check(against model: Model) throws(ModelIOError) {
        for name in entries.keys.sorted() {
            let entry = entries[name]!
            guard let tensor = model.tensor(name) else {
                throw ModelIOError(
                    path: path, item: name,
                    "the model has no tensor of this name: this imatrix was made for another model")
            }
            guard tensor.shape.count == 2, tensor.columns == entry.sumOfSquares.count else {
                throw ModelIOError(
                    path: path, item: name,
                    "has \(entry.sumOfSquares.count) input channels, the model's tensor is \(tensor.shape) "
                        + "(\(tensor.columns) inputs): this imatrix was made for another model or before a "
                        + "structured prune")
            }
        }
    }

    /// The mean squares of the input of tensor `name`, if the file has an entry for it.
    public func meanSquares(of name: String) -> [Float]? { entries[name]?.meanSquares }
}
