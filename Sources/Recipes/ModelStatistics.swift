import Kernels
import ModelIO

/// Sparsity and norms of tensors, as recipes and reports show them.
package enum ModelStatistics {
    /// Fraction of elements that are exactly zero.
    static func sparsity(_ tensor: Tensor) -> Double {
        Double(zeroCount(tensor)) / Double(max(tensor.count, 1))
    }

    /// Number of elements that are exactly zero (the pruning engine's SIMD kernel).
    static func zeroCount(_ tensor: Tensor) -> Int {
        let storage = tensor.storage
        return withExtendedLifetime(storage) {
            Int(shears_prune_count_zeros(storage.buffer.baseAddress!, tensor.count))
        }
    }

    /// Number of elements that are zero once stored as `type` (the storage held while counted).
    private static func storedZeroCount(_ tensor: Tensor, as type: GGMLType) -> Int {
        let storage = tensor.storage
        return withExtendedLifetime(storage) {
            Quantization.zeroCount(afterStoring: UnsafeBufferPointer(storage.buffer), as: type)
        }
    }

    /// Frobenius (L2) norm of all elements.
    static func norm(_ tensor: Tensor) -> Double {
        var sum = 0.0
        for value in tensor.storage.buffer { sum += Double(value) * Double(value) }
        return sum.squareRoot()
    }

    /// Sparsity over the seven linear matrices of every layer (the figure pruning papers report),
    /// and per tensor for every tensor.
    static func modelSparsity(_ model: Model) -> (linear: Double, perTensor: [(String, Double)]) {
        var zeros = 0, total = 0
        var perTensor: [(String, Double)] = []
        for tensor in model.tensors {
            let z = zeroCount(tensor)
            perTensor.append((tensor.name, Double(z) / Double(max(tensor.count, 1))))
            if isLinear(tensor.name) {
                zeros += z
                total += tensor.count
            }
        }
        return (Double(zeros) / Double(max(total, 1)), perTensor)
    }

    /// Sparsity over the linear matrices once the model is stored as `type`: the zeros that
    /// survive quantization (all of them, for the symmetric types), plus weights rounded to zero.
    package static func linearSparsity(_ model: Model, storedAs type: OutputType) -> Double {
        var zeros = 0, total = 0
        for tensor in model.tensors where isLinear(tensor.name) {
            let stored = ModelWriter.storedType(of: tensor, requested: type.ggmlType)
            zeros +=
                stored.blockSize == 1
                ? zeroCount(tensor)
                : storedZeroCount(tensor, as: stored)
            total += tensor.count
        }
        return Double(zeros) / Double(max(total, 1))
    }

    /// Whether `name` is one of a layer's seven linear matrices.
    static func isLinear(_ name: String) -> Bool {
        LlamaTensorNames.Layer.allCases.contains { part in
            part.isLinear && name.hasPrefix("blk.") && name.hasSuffix(".\(part.rawValue).weight")
        }
    }
}
