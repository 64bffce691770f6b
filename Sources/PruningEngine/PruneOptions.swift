import Inference
import ModelIO

/// What a prune touches and whom it tells.
public struct PruneOptions {
    /// Tensors to prune: a linear matrix is pruned when it matches one of these globs and none of
    /// `ignore` (default: all seven linear matrices of every layer).
    public var targets: [TensorNamePattern] = [TensorNamePattern("blk.*")]
    /// Tensors to leave alone even when they match `targets`.
    public var ignore: [TensorNamePattern] = []
    /// Called after each layer with its report.
    public var onLayer: ((Int, LayerReport) -> Void)?
    /// Called when a layer starts.
    public var progress: ((PruneProgress) -> Void)?
    /// Called as a model step's long phase advances (SCOP's gradient steps or swap sets).
    public var stepProgress: ((ModelStepProgress) -> Void)?
    /// Checked between layers, matrices and calibration windows: the prune stops with a
    /// `PruneError` carrying the reason, leaving the model partly pruned.
    public var cancellation: Cancellation?
    /// Records every finished layer and supplies the checkpoint to continue from (nil: none).
    public var journal: (any PruneJournal)?
    /// Per-input statistics read from a llama.cpp importance matrix instead of gathered by
    /// calibration forwards (nil: gather them). The mean x² per input channel stands for
    /// `InputStatistics.squaredNorms`; only chains that need nothing more may use it (see
    /// `Pruner.init`), and the prune then runs no forward at all.
    public var imatrix: ImportanceMatrix?
    /// Bytes beyond the model (as held: `MemoryBudget.heldBytes`) that the prune may use. The
    /// gradient computations (the weight gradients of LLM-Pruner's and Shortened LLaMA's Taylor
    /// criteria, of gradient-reading matrix steps) whose estimate exceeds it are refused before
    /// any work, with the error's `memoryShortfall` set; calibration activations that exceed it
    /// are kept in a scratch file in the model's `scratchDirectory`; a limit below one window's
    /// activations and workspace is refused. Nil: the machine's physical memory less the model
    /// (`MemoryBudget.available`), activations in memory.
    public var memoryLimit: Int?
    /// The ranks of a data-parallel prune (nil: this process alone). Each rank passes `run` the
    /// same windows and runs its shard of them; the statistics are combined across ranks (see
    /// `ProcessGroup`). Chains that need every window in one place (model steps, gradients, layer
    /// steps that run calibration forwards such as BESA) and journals are refused with more than
    /// one rank.
    public var processGroup: (any ProcessGroup)?

    /// Default options: every linear matrix, no callbacks.
    public init() {}
}
