import Inference
import LuaRuntime
import ModelIO
import Reports

/// The handle types recipes see, and the Swift objects behind them.
enum RecipeHandles {
    /// `shears.Model`: a model loaded by `shears.load`.
    static let model = LuaHandleType<ModelBox>("shears.Model")
    /// `shears.Tensor`: one tensor of a model (reads the model's current weights on each use).
    static let tensor = LuaHandleType<TensorReference>("shears.Tensor")
    /// `shears.Calibration`: token windows for pruning.
    static let calibration = LuaHandleType<CalibrationBox>("shears.Calibration")
    /// `shears.Gradient`: one tensor's loss gradient (or Fisher estimate) from `m:gradients{...}`.
    static let gradient = LuaHandleType<GradientBox>("shears.Gradient")
}

/// A loaded model as a handle's object.
final class ModelBox {
    /// The model.
    let model: Model
    /// The run report of the model's last `shears.prune{..., report = path}` and its path: saving
    /// the model fills in its output, and perplexities measured afterwards are added to it.
    var report: (path: String, run: RunReport)?
    /// The journal of the model's last `shears.prune{..., journal = dir}`, removed once `save`
    /// has written the model.
    var journal: PruneJournalDirectory?
    init(_ model: Model) { self.model = model }

    /// Applies `change` to the pending run report, if any, and rewrites its file.
    func updateReport(_ change: (inout RunReport) -> Void) throws {
        guard var report else { return }
        change(&report.run)
        try report.run.write(to: report.path)
        self.report = report
    }
}

/// A tensor of a model, by name: always reads the model's current weights, so a pruned tensor
/// shows its new sparsity through a handle taken before pruning.
final class TensorReference {
    /// The owning model.
    let model: Model
    /// The tensor's name.
    let name: String
    init(model: Model, name: String) {
        self.model = model
        self.name = name
    }

    /// The tensor's current value.
    var tensor: Tensor { model.tensor(name)! }
}

/// A calibration set as a handle's object: token windows, or an importance matrix that stands
/// for the statistics windows would give (`shears.calibration{ imatrix = path }`).
final class CalibrationBox {
    /// The windows (nil for an imatrix).
    let set: CalibrationSet?
    /// The importance matrix (nil for windows).
    let imatrix: ImportanceMatrix?
    init(_ set: CalibrationSet) {
        self.set = set
        imatrix = nil
    }
    init(_ imatrix: ImportanceMatrix) {
        set = nil
        self.imatrix = imatrix
    }

    /// The windows; none for an imatrix.
    var windows: [[Int32]] { self.set?.windows ?? [] }
    /// Where the data came from, for provenance.
    var source: String { self.set?.source ?? "imatrix \(imatrix!.path)" }

    /// The windows, for a use that needs them (argument `argument` of the call).
    func requireWindows(argument: Int, for use: String) throws -> CalibrationSet {
        guard let set = self.set else {
            throw LuaArgumentError(
                argument: argument,
                "\(use) needs calibration windows; this calibration is an imatrix (\(imatrix!.path)), which serves "
                    + "only the per-input statistics of wanda, ria and owl")
        }
        return set
    }
}
