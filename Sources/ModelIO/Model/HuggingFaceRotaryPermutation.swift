/// The row permutation between Hugging Face's and llama.cpp's `q_proj`/`k_proj` layouts.
///
/// Hugging Face applies RoPE with "rotate half": within each head, dimension `i` pairs with
/// `i + headDim/2`, so a head's rows are [first halves; second halves]. llama.cpp (and `Model`)
/// rotates adjacent pairs `(2i, 2i+1)`. llama.cpp's converter therefore reorders each head's
/// rows so that GGUF row `2i + j` is Hugging Face row `j·headDim/2 + i` (j ∈ {0, 1}); this type
/// applies that reordering and its exact inverse. Rows are moved whole, so values are unchanged.
public enum HuggingFaceRotaryPermutation {
    /// Reorders the rows of a Hugging Face `q_proj`/`k_proj` weight (with `heads` heads: the
    /// query or the key/value head count) into GGUF order.
    ///
    /// - Precondition: `tensor.rows` is a multiple of `2 × heads`.
    public static func toGGUF(_ tensor: Tensor, heads: Int) -> Tensor {
        permute(tensor, heads: heads, toGGUF: true)
    }

    /// Reorders the rows of a GGUF `attn_q`/`attn_k` weight back into Hugging Face order.
    ///
    /// - Precondition: `tensor.rows` is a multiple of `2 × heads`.
    public static func toHuggingFace(_ tensor: Tensor, heads: Int) -> Tensor {
        permute(tensor, heads: heads, toGGUF: false)
    }

    /// The number of heads over which the tensor `name` of a model with `config` has its rows
    /// permuted (nil: the tensor is not permuted): `attn_q`/`attn_k` weights and biases (query
    /// or key/value heads), and the q/k head norms (one head of `headDim` entries).
    public static func heads(of name: String, config: LlamaConfig) -> Int? {
        guard let (layer, part, kind) = LlamaTensorNames.parse(name), part == .query || part == .key,
            layer < config.layerCount
        else { return nil }
        if kind == .headNorm { return 1 }
        let shape = config.layers[layer]
        return part == .query ? shape.headCount : shape.kvHeadCount
    }

    /// `tensor` from Hugging Face into GGUF order (`toGGUF`) or back, when `heads(of:config:)`
    /// says its rows are permuted; otherwise (or when its shape is not the architecture's, which
    /// `Model` then reports) `tensor` itself.
    public static func convert(_ tensor: Tensor, config: LlamaConfig, toGGUF: Bool) -> Tensor {
        guard let heads = heads(of: tensor.name, config: config),
            let (layer, part, kind) = LlamaTensorNames.parse(tensor.name),
            part.exists(in: config.layers[layer]), tensor.shape == part.shape(config, layer: layer, kind: kind)
        else { return tensor }
        return permute(tensor, heads: heads, toGGUF: toGGUF)
    }

    private static func permute(_ tensor: Tensor, heads: Int, toGGUF: Bool) -> Tensor {
        // A vector (bias, head norm) is a column of rows.
        let rows = tensor.shape.count == 1 ? tensor.count : tensor.rows
        let columns = tensor.shape.count == 1 ? 1 : tensor.columns
        precondition(
            heads > 0 && rows % (2 * heads) == 0,
            "\(tensor.name): \(rows) rows do not split into \(heads) heads of pairs")
        let headDim = rows / heads, half = headDim / 2
        let input = tensor.storage
        defer { withExtendedLifetime(input) {} }
        let source = UnsafeBufferPointer(input.buffer)
        let storage = TensorStorage(count: tensor.count) { destination in
            for head in 0..<heads {
                for i in 0..<half {
                    for j in 0..<2 {
                        let ggufRow = head * headDim + 2 * i + j
                        let hfRow = head * headDim + j * half + i
                        let (from, to) = toGGUF ? (hfRow, ggufRow) : (ggufRow, hfRow)
                        UnsafeMutableBufferPointer(rebasing: destination[(to * columns)..<((to + 1) * columns)])
                            .baseAddress?.update(from: source.baseAddress! + from * columns, count: columns)
                    }
                }
            }
        }
        return Tensor(name: tensor.name, shape: tensor.shape, storage: storage, sourceType: tensor.sourceType)
    }
}
