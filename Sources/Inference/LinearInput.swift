import ModelIO

/// The input rows of one linear layer during a forward call, handed to
/// `ForwardPass.linearInputObserver` (for pruning calibration statistics such as Wanda's
/// per-column norms or SparseGPT's Hessians).
///
/// `values` is valid only during the callback: copy or reduce it there.
public struct LinearInput {
    /// The decoder layer.
    public let layer: Int
    /// Which linear matrix of the layer consumes these rows (q, k and v see the same rows).
    public let part: LlamaTensorNames.Layer
    /// Number of rows (positions) in this call.
    public let rows: Int
    /// Row width: the matrix's input dimension.
    public let columns: Int
    /// `rows × columns` values, row-major.
    public let values: UnsafeBufferPointer<Float>
}
