import PluginAPI
import PruningEngine

/// A borrowed float32 view for a plugin call: a pointer with shape and strides (in elements,
/// outermost first). The memory must outlive the call it is passed to; nothing is copied.
public struct PluginTensorView {
    /// First element.
    public var data: UnsafePointer<Float>
    /// Extent of each dimension (rank 1 or 2).
    public var shape: [Int]
    /// Distance between consecutive elements of each dimension, in elements.
    public var strides: [Int]
    /// The element type announced to the plugin (the host only ever passes `SHEARS_DTYPE_F32`;
    /// the conformance checker announces others to test error reporting).
    public var dtype: shears_dtype = shears_dtype(SHEARS_DTYPE_F32)

    /// A contiguous row-major view of `shape`.
    public init(_ data: UnsafePointer<Float>, shape: [Int]) {
        self.data = data
        self.shape = shape
        strides = shape.count == 2 ? [shape[1], 1] : [1]
    }

    /// A view with explicit strides.
    public init(_ data: UnsafePointer<Float>, shape: [Int], strides: [Int]) {
        self.data = data
        self.shape = shape
        self.strides = strides
    }

    /// The C struct.
    var raw: shears_tensor_view {
        var view = shears_tensor_view()
        view.dtype = dtype
        view.rank = UInt32(shape.count)
        withUnsafeMutableBytes(of: &view.shape) { bytes in
            for (index, extent) in shape.enumerated() {
                bytes.storeBytes(of: Int64(extent), toByteOffset: index * 8, as: Int64.self)
            }
        }
        withUnsafeMutableBytes(of: &view.strides) { bytes in
            for (index, stride) in strides.enumerated() {
                bytes.storeBytes(of: Int64(stride), toByteOffset: index * 8, as: Int64.self)
            }
        }
        view.data = UnsafeRawPointer(data)
        return view
    }
}

/// Everything a plugin sees about one matrix: the `shears_score_input` of a call, as Swift values.
public struct PluginMatrixInput {
    /// GGUF tensor name.
    public var tensorName: String
    /// Decoder layer index.
    public var layer: Int
    /// The weight `[rows, columns]`.
    public var weight: PluginTensorView
    /// `scaler_row` `[columns]`, if gathered.
    public var squaredNorms: PluginTensorView?
    /// Per-sequence sums `[columns]`, if gathered.
    public var sums: PluginTensorView?
    /// Per-channel variances `[columns]`, if gathered.
    public var variances: PluginTensorView?
    /// The Gram matrix `[columns, columns]` (upper triangle valid), if gathered.
    public var gram: PluginTensorView?
    /// Calibration sequences behind the statistics.
    public var sequences = 0
    /// Calibration tokens behind the statistics.
    public var tokens = 0
    /// Target fraction of zeros.
    public var sparsity: Double
    /// The N:M pattern, or unstructured.
    public var pattern: SparsityPattern

    /// An input with a weight and no statistics.
    public init(tensorName: String, layer: Int, weight: PluginTensorView, sparsity: Double, pattern: SparsityPattern) {
        self.tensorName = tensorName
        self.layer = layer
        self.weight = weight
        self.sparsity = sparsity
        self.pattern = pattern
    }

    /// Rows of the weight.
    public var rows: Int { weight.shape.first ?? 0 }
    /// Columns of the weight.
    public var columns: Int { weight.shape.count == 2 ? weight.shape[1] : 0 }

    /// Calls `body` with the C struct (valid only during `body`).
    public func withRawInput<Result, Failure: Error>(
        _ body: (UnsafePointer<shears_score_input>) throws(Failure) -> Result
    ) throws(Failure) -> Result {
        var name = Array(tensorName.utf8CString)
        var input = shears_score_input()
        input.struct_size = UInt32(MemoryLayout<shears_score_input>.size)
        input.layer = Int32(clamping: layer)
        input.weight = weight.raw
        if let squaredNorms { input.squared_norms = squaredNorms.raw }
        if let sums { input.sums = sums.raw }
        if let variances { input.variances = variances.raw }
        if let gram { input.gram = gram.raw }
        input.calibration_sequences = UInt64(sequences)
        input.calibration_tokens = UInt64(tokens)
        input.sparsity = sparsity
        if case .nm(let keep, let group) = pattern {
            input.pattern_n = Int32(group - keep)
            input.pattern_m = Int32(group)
        }
        return try name.withUnsafeMutableBufferPointer { (text) throws(Failure) -> Result in
            input.tensor_name = UnsafePointer(text.baseAddress!)
            return try withUnsafePointer(to: &input) { (pointer) throws(Failure) -> Result in try body(pointer) }
        }
    }
}

extension PluginMatrixInput {
    /// Calls `body` with the score input of `work`: borrowed views of its weights and of the
    /// statistics `criterion` declares, valid during `body`. Every statistic the criterion does
    /// not declare is an absent view (`data == NULL`, `rank == 0`), even when another step had it
    /// gathered.
    ///
    /// - Throws: `PluginError` when a declared statistic was not gathered, or what `body` throws.
    static func withInput<Result>(
        of work: MatrixWork, pattern: SparsityPattern, criterion: PluginCriterion,
        _ body: (UnsafePointer<shears_score_input>) throws(PluginError) -> Result
    ) throws(PluginError) -> Result {
        let declared = criterion.descriptor.statistics
        let columns = work.columns
        var input = PluginMatrixInput(
            tensorName: work.name, layer: work.layer,
            weight: PluginTensorView(UnsafePointer(work.weights.buffer.baseAddress!), shape: [work.rows, columns]),
            sparsity: work.sparsity, pattern: pattern)
        guard !declared.isEmpty else { return try input.withRawInput(body) }
        guard let statistics = work.statistics, statistics.requirement.isSuperset(of: declared) else {
            throw criterion.error("\(work.name): the declared calibration statistics were not gathered")
        }
        input.sequences = statistics.sequences
        input.tokens = statistics.tokens
        // Borrow the declared arrays' storage for the call (they are not mutated meanwhile); an
        // undeclared one is never borrowed, so its view stays absent.
        return try borrow(declared.contains(.squaredNorms) ? statistics.squaredNorms : nil) {
            (norms) throws(PluginError) -> Result in
            try borrow(declared.contains(.moments) ? statistics.sums : nil) { (sums) throws(PluginError) -> Result in
                try borrow(declared.contains(.moments) ? statistics.variances : nil) {
                    (variances) throws(PluginError) -> Result in
                    if let norms { input.squaredNorms = PluginTensorView(norms, shape: [columns]) }
                    if let sums { input.sums = PluginTensorView(sums, shape: [columns]) }
                    if let variances { input.variances = PluginTensorView(variances, shape: [columns]) }
                    let gram = declared.contains(.gram) ? statistics.gram : nil
                    if let gram {
                        input.gram = PluginTensorView(
                            UnsafePointer(gram.buffer.baseAddress!), shape: [columns, columns])
                    }
                    return try withExtendedLifetime(gram) { () throws(PluginError) -> Result in
                        try input.withRawInput(body)
                    }
                }
            }
        }
    }

    /// Calls `body` with the first element of `array`, or with nil when there is no array.
    private static func borrow<Result>(
        _ array: [Float]?, _ body: (UnsafePointer<Float>?) throws(PluginError) -> Result
    ) throws(PluginError) -> Result {
        guard let array else { return try body(nil) }
        return try array.withUnsafeBufferPointer { (buffer) throws(PluginError) -> Result in
            try body(buffer.baseAddress)
        }
    }
}
