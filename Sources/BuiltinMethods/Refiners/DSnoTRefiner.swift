import Dispatch
import Foundation
import Inference
import ModelIO
import PruningEngine

/// Refiner: DSnoT (Zhang et al., "Dynamic Sparse No Training"), the reference's grow-and-prune
/// cycles on the mask the earlier steps chose, per output row, without touching the weights.
///
/// With `c_j = W_j · s_j` (s: the input's per-column sum statistic, `InputStatistics.sums`) and
/// `ε = Σ_{pruned j} c_j` the row's expected output change, each cycle regrows one pruned weight
/// and prunes one kept weight so that ε moves toward 0:
/// - the grow list is every column sorted ascending by `c_j / var_j^power` (0 for kept columns);
///   ε > 0 takes the next from the back, otherwise from the front;
/// - unstructured: the prune list is the kept columns in ascending Wanda order (`|W|·sqrt(scaler_row)`,
///   whatever chose the mask), reordered to the `c < 0` ones in that order followed by the `c > 0`
///   ones in reverse; ε < 0 takes the next from the back, otherwise from the front;
/// - N:M: the pruned weight is the untried kept weight of r's own group with the lowest score of the
///   criterion that chose the mask (`MatrixWork.scores`), and a swap that would flip the sign of ε
///   ends the row;
/// - a row stops for good once `|ε| ≤ threshold` (tested before the swap) or after `maxCycles`.
///
/// Reference behaviour kept by default: the grow list also holds kept columns (value 0), and kept
/// weights with `c = 0` all stand for the first kept weight in the prune list. Where the reference
/// then "regrows" a kept weight (no change) while still pruning one, the row stops instead, so
/// every row (and N:M group) keeps its pruned count exactly (a deliberate deviation).
/// `growPrunedOnly` restricts growth to pruned weights (a row short of one sign grows the other)
/// and orders `c = 0` weights between the negative and positive ones. Other deviations (the
/// reference would reuse entries or index out of range): a row whose grow or prune list runs out
/// stops; an N:M group without an untried kept weight skips the cycle. Inactive rows are never
/// written (the reference's scatter can prune a kept weight there). A zero variance is floored at
/// `varianceFloor`.
public struct DSnoTRefiner: PruneStep {
    /// q, k, v and o: the reference default (`--skip_layer mlp`).
    public static let attentionParts: Set<LlamaTensorNames.Layer> = [.query, .key, .value, .attentionOutput]
    /// gate, up and down.
    public static let mlpParts: Set<LlamaTensorNames.Layer> = [.gate, .up, .down]
    /// The floor of a column variance in the growth normaliser.
    public static let varianceFloor = 1e-12

    /// Cycles per row at most (reference `max_cycle_time` 50).
    public let maxCycles: Int
    /// A row stops once `|ε|` is at most this (reference `update_threshold` 0.1; ε scales with
    /// the calibration sequence length and the weights).
    public let threshold: Double
    /// Exponent of the variance in the growth order (reference `pow_of_var_regrowing` 1).
    public let power: Double
    /// The linear parts refined; the others keep the incoming mask.
    public let parts: Set<LlamaTensorNames.Layer>
    /// Grow only pruned weights (clean behaviour) instead of the reference's full grow list.
    public let growPrunedOnly: Bool
    /// "dsnot".
    public var name: String { "dsnot" }
    /// Refiner.
    public var stage: PruneStage { .refiner }
    /// Squared norms (Wanda order of the prune list) and moments (c and the variances).
    public var requirement: StatisticsRequirement { [.squaredNorms, .moments] }

    /// - Throws: `PruneError` for negative cycles, a threshold or power that is negative or not
    ///   finite, or no parts.
    public init(
        maxCycles: Int = 50, threshold: Double = 0.1, power: Double = 1,
        parts: Set<LlamaTensorNames.Layer> = attentionParts, growPrunedOnly: Bool = false
    ) throws(PruneError) {
        guard maxCycles >= 0 else { throw PruneError("DSnoT max_cycles \(maxCycles) must be ≥ 0") }
        guard threshold.isFinite, threshold >= 0 else {
            throw PruneError("DSnoT threshold \(threshold) must be finite and ≥ 0")
        }
        guard power.isFinite, power >= 0 else { throw PruneError("DSnoT power \(power) must be finite and ≥ 0") }
        guard !parts.isEmpty, parts.allSatisfy(\.isLinear) else {
            throw PruneError("DSnoT needs at least one linear part to refine")
        }
        self.maxCycles = maxCycles
        self.threshold = threshold
        self.power = power
        self.parts = parts
        self.growPrunedOnly = growPrunedOnly
    }

    /// The parts named by `"attention"`, `"mlp"`, `"all"` or a linear part's name (`"attn_q"`,
    /// `"ffn_down"`, ...).
    ///
    /// - Throws: `PruneError` for any other name.
    public static func parts(named name: String) throws(PruneError) -> Set<LlamaTensorNames.Layer> {
        switch name {
        case "attention": return attentionParts
        case "mlp": return mlpParts
        case "all": return attentionParts.union(mlpParts)
        default:
            guard let part = LlamaTensorNames.Layer(rawValue: name), part.isLinear else {
                let names = LinearMatrix.parts.map(\.rawValue).joined(separator: ", ")
                throw PruneError(
                    "unknown DSnoT layer selection \"\(name)\" (expected attention, mlp, all or one of \(names))")
            }
            return [part]
        }
    }

    /// Refines `work.mask` (a no-op for parts not in `parts`).
    public func run(_ work: MatrixWork) throws(PruneError) {
        _ = try refine(work, trace: false)
    }

    /// Refines `work.mask` and returns, when `trace` is set, every row's cycles (empty otherwise).
    ///
    /// - Throws: `PruneError` without a mask from an earlier step or without the statistics.
    public func refine(_ work: MatrixWork, trace: Bool) throws(PruneError) -> [DSnoTRowTrace] {
        guard parts.contains(work.part) else { return [] }
        guard work.mask.count == work.rows * work.columns else {
            throw PruneError("\(work.name): step \(name) needs a mask from a selector step before it")
        }
        let statistics = try work.requireStatistics([.squaredNorms, .moments], for: name)
        var groupSize: Int?
        if let pattern = work.pattern, case .nm(_, let group) = pattern {
            try pattern.validate(columns: work.columns, name: work.name)
            guard work.scores.count == work.mask.count else {
                throw PruneError("\(work.name): step \(name) needs the N:M criterion's scores")
            }
            groupSize = group
        }
        let groups = groupSize
        let d = work.columns
        let sums = statistics.sums.map(Double.init)
        let divisors = statistics.variances.map {
            power == 0 ? 1 : pow(Swift.max(Double($0), Self.varianceFloor), power)
        }
        let norms = statistics.squaredNorms.map { Double($0).squareRoot() }
        let rows = work.rows
        let scores = groups == nil ? [] : work.scores
        var results = [DSnoTRowTrace](repeating: DSnoTRowTrace(row: 0, initialError: 0), count: rows)
        // Rows are independent: interleaved over the BLAS threads, each with its own scratch.
        let workers = Swift.max(1, Swift.min(blasThreadCount(), rows / 64))
        work.mask.withUnsafeMutableBufferPointer { mask in
            results.withUnsafeMutableBufferPointer { results in
                let shared = UnsafeSendable(
                    (weights: UnsafeBufferPointer(work.weights.buffer), mask: mask, results: results))
                DispatchQueue.concurrentPerform(iterations: workers) { worker in
                    var row = RowState(columns: d)
                    for r in stride(from: worker, to: rows, by: workers) {
                        let base = r * d
                        let w = UnsafeBufferPointer(rebasing: shared.value.weights[base..<base + d])
                        let m = UnsafeMutableBufferPointer(rebasing: shared.value.mask[base..<base + d])
                        row.load(w, m, sums: sums, divisors: divisors, growPrunedOnly: growPrunedOnly)
                        if let groups {
                            let rowScores = scores[base..<base + d].map(Double.init)
                            shared.value.results[r] = refineGroups(
                                r, &row, m, scores: rowScores, group: groups, trace: trace)
                        } else {
                            row.prepareUnstructuredPruneList(w, m, norms: norms, zeroFix: growPrunedOnly)
                            shared.value.results[r] = refineRow(r, &row, m, trace: trace)
                        }
                    }
                }
            }
        }
        let swaps = results.reduce(0) { $0 + $1.swaps }, changedRows = results.filter { $0.swaps > 0 }.count
        work.notes.append("dsnot: \(swaps) swaps in \(changedRows) of \(rows) rows")
        return trace ? results : []
    }

    /// The unstructured cycles of one row.
    private func refineRow(
        _ r: Int, _ row: inout RowState, _ mask: UnsafeMutableBufferPointer<UInt8>, trace: Bool
    ) -> DSnoTRowTrace {
        var result = DSnoTRowTrace(row: r, initialError: row.error)
        var gf = 0, gb = row.grow.count - 1, pf = 0, pb = row.pruneList.count - 1
        var error = row.error
        result.stop = .maxCycles
        for cycle in 0..<maxCycles {
            guard abs(error) > threshold else {
                result.stop = .threshold
                break
            }
            guard gf <= gb, pf <= pb else {
                result.stop = .exhausted
                break
            }
            let grown: Int
            if error > 0 {
                grown = row.grow[gb]
                gb -= 1
            } else {
                grown = row.grow[gf]
                gf += 1
            }
            // The reference's grow list runs on into kept weights once the pruned ones of the
            // needed sign are used up; "regrowing" a kept weight would prune one weight more than
            // the row's count, so the row stops here instead (a deliberate deviation).
            guard mask[grown] == 1 else {
                result.stop = .exhausted
                break
            }
            let pruned: Int
            if error < 0 {
                pruned = row.pruneList[pb]
                pb -= 1
            } else {
                pruned = row.pruneList[pf]
                pf += 1
            }
            if trace {
                result.cycles.append(
                    DSnoTCycle(cycle: cycle, regrown: grown, pruned: pruned, errorBefore: error, applied: true))
            }
            mask[pruned] = 1
            mask[grown] = 0
            error = error + row.contributions[pruned] - row.contributions[grown]
            result.swaps += 1
        }
        result.finalError = error
        return result
    }

    /// The N:M cycles of one row: the pruned weight comes from the regrown weight's own group.
    private func refineGroups(
        _ r: Int, _ row: inout RowState, _ mask: UnsafeMutableBufferPointer<UInt8>, scores: [Double], group: Int,
        trace: Bool
    ) -> DSnoTRowTrace {
        var result = DSnoTRowTrace(row: r, initialError: row.error)
        var candidates = scores
        for j in 0..<mask.count where mask[j] == 1 { candidates[j] = .infinity }
        var gf = 0, gb = row.grow.count - 1
        var error = row.error
        let initialSign = sign(error)
        result.stop = .maxCycles
        for cycle in 0..<maxCycles {
            guard abs(error) > threshold else {
                result.stop = .threshold
                break
            }
            guard gf <= gb else {
                result.stop = .exhausted
                break
            }
            let grown: Int
            if error > 0 {
                grown = row.grow[gb]
                gb -= 1
            } else {
                grown = row.grow[gf]
                gf += 1
            }
            // As in the unstructured loop: a kept weight cannot be regrown (its group would lose
            // one more weight than N:M allows), so the row stops.
            guard mask[grown] == 1 else {
                result.stop = .exhausted
                break
            }
            let start = grown - grown % group
            var pruned = start
            for j in start..<start + group where candidates[j] < candidates[pruned] { pruned = j }
            guard candidates[pruned] < .infinity else {
                if trace {
                    result.cycles.append(
                        DSnoTCycle(cycle: cycle, regrown: grown, pruned: nil, errorBefore: error, applied: false))
                }
                continue
            }
            candidates[pruned] = .infinity
            let after = error + row.contributions[pruned] - row.contributions[grown]
            let applied = sign(after) == initialSign
            if trace {
                result.cycles.append(
                    DSnoTCycle(cycle: cycle, regrown: grown, pruned: pruned, errorBefore: error, applied: applied))
            }
            guard applied else {
                result.stop = .signChange
                break
            }
            mask[pruned] = 1
            mask[grown] = 0
            error = after
            result.swaps += 1
        }
        result.finalError = error
        return result
    }
}

/// One cycle of a DSnoT row: which weight was regrown and which pruned (nil: its N:M group had no
/// untried kept weight), the row's ε before it, and whether the swap was made.
public struct DSnoTCycle: Sendable, Equatable {
    /// Cycle index from 0.
    public var cycle: Int
    /// Column taken from the grow list.
    public var regrown: Int
    /// Column taken from the prune list or group (nil: none available).
    public var pruned: Int?
    /// ε before the cycle.
    public var errorBefore: Double
    /// Whether the swap was made.
    public var applied: Bool

    /// Creates a cycle record.
    public init(cycle: Int, regrown: Int, pruned: Int?, errorBefore: Double, applied: Bool) {
        self.cycle = cycle
        self.regrown = regrown
        self.pruned = pruned
        self.errorBefore = errorBefore
        self.applied = applied
    }
}

/// Why a DSnoT row stopped.
public enum DSnoTStop: Sendable, Equatable {
    /// `|ε|` reached the threshold.
    case threshold
    /// N:M: the swap would have flipped the sign of ε.
    case signChange
    /// The grow or prune list ran out, or the next weight to regrow is already kept.
    case exhausted
    /// All cycles ran.
    case maxCycles
}

/// The cycles of one DSnoT row.
public struct DSnoTRowTrace: Sendable, Equatable {
    /// Row index.
    public var row: Int
    /// ε from the incoming mask.
    public var initialError: Double
    /// The cycles that picked a weight to regrow, in order.
    public var cycles: [DSnoTCycle] = []
    /// Swaps made.
    public var swaps = 0
    /// Why it stopped.
    public var stop: DSnoTStop = .maxCycles
    /// ε at the end.
    public var finalError = 0.0

    /// Creates an empty trace.
    public init(row: Int, initialError: Double) {
        self.row = row
        self.initialError = initialError
    }
}

/// Per-row scratch of the refiner, reused across rows.
private struct RowState {
    /// `c_j = W_j · s_j`.
    var contributions: [Double]
    /// ε of the incoming mask.
    var error = 0.0
    /// The grow list (columns, ascending growth key).
    var grow: [Int] = []
    /// The unstructured prune list.
    var pruneList: [Int] = []
    private var keys: [Double]

    init(columns: Int) {
        contributions = [Double](repeating: 0, count: columns)
        keys = contributions
        grow.reserveCapacity(columns)
        pruneList.reserveCapacity(columns)
    }

    /// Contributions, ε and the grow list of one row.
    mutating func load(
        _ w: UnsafeBufferPointer<Float>, _ mask: UnsafeMutableBufferPointer<UInt8>, sums: [Double], divisors: [Double],
        growPrunedOnly: Bool
    ) {
        error = 0
        grow.removeAll(keepingCapacity: true)
        for j in 0..<w.count {
            let c = Double(w[j]) * sums[j]
            contributions[j] = c
            if mask[j] == 1 {
                error += c
                keys[j] = c / divisors[j]
                grow.append(j)
            } else {
                keys[j] = 0
                if !growPrunedOnly { grow.append(j) }
            }
        }
        grow.sort { j, k in Self.before(keys, j, k) }
    }

    /// The kept columns in ascending Wanda order, reordered to the `c < 0` ones followed by the
    /// `c > 0` ones reversed; `c = 0` ones stand for the first kept column (reference) or keep
    /// their place in between (`zeroFix`).
    mutating func prepareUnstructuredPruneList(
        _ w: UnsafeBufferPointer<Float>, _ mask: UnsafeMutableBufferPointer<UInt8>, norms: [Double], zeroFix: Bool
    ) {
        var kept: [Int] = []
        kept.reserveCapacity(w.count)
        for j in 0..<w.count where mask[j] == 0 {
            keys[j] = abs(Double(w[j])) * norms[j]
            kept.append(j)
        }
        kept.sort { j, k in Self.before(keys, j, k) }
        pruneList.removeAll(keepingCapacity: true)
        var zeros: [Int] = []
        for j in kept where contributions[j] < 0 { pruneList.append(j) }
        for j in kept where contributions[j] == 0 { zeros.append(zeroFix ? j : kept[0]) }
        pruneList += zeros
        for j in kept.reversed() where contributions[j] > 0 { pruneList.append(j) }
    }

    /// Stable ascending order by key.
    private static func before(_ keys: [Double], _ j: Int, _ k: Int) -> Bool {
        keys[j] < keys[k] || (keys[j] == keys[k] && j < k)
    }
}

/// −1, 0 or 1 (torch.sign).
private func sign(_ x: Double) -> Int { x > 0 ? 1 : x < 0 ? -1 : 0 }
