/// Namespace of the pruning methods built into Shears.
///
/// The pruning engine and its methods (magnitude, Wanda, SparseGPT, ...) are built on the model
/// layer in `ModelIO` and the kernels in `Kernels`; see docs/methods.md once they land.
public enum BuiltinMethods {}
