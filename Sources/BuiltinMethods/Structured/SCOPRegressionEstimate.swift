import CBLAS
import Foundation
import Inference
import ModelIO
import PruningEngine
import SeededRandom

/// SCOP's `regression` estimator (`methods-structured.md` §1.5 C): knockoff-swap regression.
/// Each of `swaps` random swap sets replaces every unit by its knockoff with probability `p`
/// (β ∈ {0, 1}) and measures the loss increase `ℓ_m = L(S_m) − L₀` on the same windows (common
/// random numbers: the same windows, knockoff windows and Gaussian noise for every set). A ridge
/// fit `ℓ ≈ Zα` over the swap indicators Z gives each unit's `α`, the expected loss increase from
/// handing it to its knockoff: a linearised SCOP importance from forward passes only.
package struct SCOPRegressionEstimate {
    /// α per layer and unit kind (higher: the loss suffers more without the unit).
    let importance: [Int: [SCOP.Unit: [Double]]]
    /// The unmixed loss L₀ on the windows.
    let baseLoss: Double
    /// The mean loss increase over the swap sets.
    let meanIncrease: Double
    /// The share of the increases' variance the linear fit explains (R²).
    let explained: Double
    /// The number of units regressed on.
    let unitCount: Int

    /// One regressor: a unit of a kind in a layer.
    private struct Slot {
        let layer: Int
        let unit: SCOP.Unit
        let index: Int
    }

    /// Runs `swaps` swap sets, each unit swapped with probability `probability`, over the first
    /// `batch` real windows of `source`, and fits α with the ridge `ridge` (relative to the mean
    /// diagonal of ZᵀZ).
    ///
    /// - Throws: `PruneError` from the forwards or the knockoff source, on cancellation, or when
    ///   the fit's system is not positive definite.
    init(
        source: SCOPKnockoffSource, work: ModelWork, layers: [Int], units: Set<SCOP.Unit>, swaps: Int,
        probability: Double, batch: Int, ridge: Double, seed: UInt64
    ) throws(PruneError) {
        let config = work.model.config
        let capacity = source.real.map(\.count).max()!
        let attention = units.contains(.heads) || units.contains(.kvGroups)
        var slots: [Slot] = []
        var mixes: [UnitMix?] = Array(repeating: nil, count: config.layerCount)
        for layer in layers {
            let shape = config.layers[layer]
            mixes[layer] = UnitMix(
                config: config, layer: layer, capacity: capacity, heads: attention, channels: units.contains(.channels),
                initial: 1)
            for unit in units.sorted(by: { $0.rawValue < $1.rawValue }) {
                for index in 0..<unit.count(in: shape) { slots.append(Slot(layer: layer, unit: unit, index: index)) }
            }
        }
        let windows = Array(source.real.prefix(batch))
        let loss = { (active: [UnitMix?]) throws(PruneError) -> Double in
            try work.mixedLoss(windows: windows, mixes: active) { index throws(PruneError) in
                try source.prepare(active, window: index, commonNoise: true)
            }
        }
        let base = try loss(Array(repeating: nil, count: config.layerCount))
        var random = SplitMix64(seed: seed ^ 0x5C0F_5EED)
        var indicators = [Double](repeating: 0, count: swaps * slots.count)
        var increases = [Double](repeating: 0, count: swaps)
        for swap in 0..<swaps {
            for layer in layers {
                let mix = mixes[layer]!
                if let heads = mix.heads { mix.heads = Array(repeating: 1, count: heads.count) }
                if let channels = mix.channels { mix.channels = Array(repeating: 1, count: channels.count) }
            }
            var touched = Set<Int>()
            for (column, slot) in slots.enumerated() where random.unit() < probability {
                indicators[swap * slots.count + column] = 1
                touched.insert(slot.layer)
                let mix = mixes[slot.layer]!
                switch slot.unit {
                case .heads: mix.heads![slot.index] = 0
                case .channels: mix.channels![slot.index] = 0
                case .kvGroups:
                    let size = config.layers[slot.layer].groupSize
                    for head in (slot.index * size)..<((slot.index + 1) * size) { mix.heads![head] = 0 }
                }
            }
            // Layers without a swapped unit run unmixed (no knockoff to draw).
            let active = mixes.indices.map { touched.contains($0) ? mixes[$0] : nil }
            increases[swap] = try loss(active) - base
            work.progress("regression", unit: "set", done: swap + 1, total: swaps)
        }
        let alpha = try Self.ridgeFit(
            indicators, rows: swaps, columns: slots.count, targets: increases, ridge: ridge)
        var importance: [Int: [SCOP.Unit: [Double]]] = [:]
        for (column, slot) in slots.enumerated() {
            let count = slot.unit.count(in: config.layers[slot.layer])
            importance[slot.layer, default: [:]][slot.unit, default: Array(repeating: 0, count: count)][slot.index] =
                alpha[column]
        }
        let mean = increases.reduce(0, +) / Double(swaps)
        var residual = 0.0, spread = 0.0
        for swap in 0..<swaps {
            var fitted = 0.0
            for column in slots.indices { fitted += indicators[swap * slots.count + column] * alpha[column] }
            residual += (increases[swap] - fitted) * (increases[swap] - fitted)
            spread += (increases[swap] - mean) * (increases[swap] - mean)
        }
        self.importance = importance
        baseLoss = base
        meanIncrease = mean
        explained = spread > 0 ? 1 - residual / spread : 0
        unitCount = slots.count
    }

    /// The ridge solution `α = (ZᵀZ + λI)⁻¹ Zᵀℓ` of the `rows × columns` row-major `z`, with
    /// `λ = ridge · mean diag(ZᵀZ)`; solved as `Zᵀ(ZZᵀ + λI)⁻¹ℓ` when there are fewer rows than
    /// columns (the same α, a smaller system); all zeros when no unit was swapped.
    ///
    /// - Throws: `PruneError` when the system is not positive definite (a zero ridge with
    ///   collinear swap sets).
    package static func ridgeFit(
        _ z: [Double], rows: Int, columns: Int, targets: [Double], ridge: Double
    ) throws(PruneError) -> [Double] {
        let primal = columns <= rows
        let order = primal ? columns : rows
        var gram = [Double](repeating: 0, count: order * order)
        // ZᵀZ (columns × columns) or ZZᵀ (rows × rows).
        cblas_dsyrk(
            CblasRowMajor, CblasUpper, primal ? CblasTrans : CblasNoTrans, Int32(order), Int32(primal ? rows : columns),
            1, z, Int32(columns), 0, &gram, Int32(order))
        // trace(ZᵀZ) = trace(ZZᵀ): the mean diagonal of ZᵀZ is the trace over the columns.
        let trace = (0..<order).reduce(0.0) { $0 + gram[$1 * order + $1] }
        // No unit was ever swapped: nothing is known, every α is 0.
        guard trace > 0 else { return Array(repeating: 0, count: columns) }
        let lambda = ridge * trace / Double(columns)
        for i in 0..<order { gram[i * order + i] += lambda }
        var right = [Double](repeating: 0, count: order)
        if primal {
            cblas_dgemv(
                CblasRowMajor, CblasTrans, Int32(rows), Int32(columns), 1, z, Int32(columns), targets, 1, 0, &right, 1)
        } else {
            right = targets
        }
        // Row-major upper is LAPACK's column-major lower of the same symmetric matrix.
        var n = Int32(order), one = Int32(1), info: Int32 = 0
        var lower = Int8(UInt8(ascii: "L"))
        dpotrf_(&lower, &n, &gram, &n, &info)
        guard info == 0 else {
            throw PruneError(
                "scop: the swap regression's system is not positive definite (leading minor \(info)); use more swaps or a larger ridge"
            )
        }
        dpotrs_(&lower, &n, &one, gram, &n, &right, &n, &info)
        precondition(info == 0, "dpotrs: bad argument \(-info)")
        guard !primal else { return right }
        var alpha = [Double](repeating: 0, count: columns)
        cblas_dgemv(
            CblasRowMajor, CblasTrans, Int32(rows), Int32(columns), 1, z, Int32(columns), right, 1, 0, &alpha, 1)
        return alpha
    }
}
