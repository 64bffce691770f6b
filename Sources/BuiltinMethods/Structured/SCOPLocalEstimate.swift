import CBLAS
import Inference
import ModelIO
import PruningEngine

/// SCOP's `local` estimator (`methods-structured.md` §1.5 A): per layer and site, the cost of
/// giving each unit's share `u` to its knockoff is measured on the site's reader (`attn_output`
/// or `ffn_down`) as `uᵀAu` with `A = (WᵀW) ∘ E[δδᵀ]`, δ = x − x̃ the real minus the knockoff
/// feature over the real windows past position 0 (for Gaussian knockoffs `E[δδᵀ] = 2D` exactly,
/// D their diagonal scale). A unit's A sums its columns' block. The units removed are the
/// `count` largest shares of the convex program `min uᵀAu` over `0 ≤ u ≤ 1`, `Σu = count`
/// (per KV group for query heads; `CappedSimplexQP`); its importance is `1 − 2u`.
struct SCOPLocalEstimate {
    /// Per layer and unit kind, A over the units (`size × size`, row-major).
    let matrices: [Int: [SCOP.Unit: CappedSimplexQP]]

    /// Gathers E[δδᵀ] over `source`'s real windows at the sites of `units` in `layers` and forms A.
    ///
    /// - Throws: `PruneError` from the forwards, or on cancellation.
    init(source: SCOPKnockoffSource, model: Model, layers: [Int], units: Set<SCOP.Unit>) throws(PruneError) {
        let config = model.config
        let sites = Set(units.map(\.site))
        var grams: [Int: [LinearInputSite: [Float]]] = [:], rows = 0
        if source.kind == .gaussian {
            // E[δδᵀ] = 2D, diagonal.
            for layer in layers {
                for site in sites {
                    guard let knockoff = source.gaussians[layer]?[site] else { continue }
                    let d = knockoff.width
                    var gram = [Float](repeating: 0, count: d * d)
                    for j in 0..<d { gram[j * d + j] = Float(2 * knockoff.scales[j]) }
                    grams[layer, default: [:]][site] = gram
                }
            }
            rows = 1
        } else {
            for index in source.real.indices {
                let real = try source.realFeatures(window: index)
                let knockoffs = try source.knockoffs(of: real, window: index)
                let count = source.real[index].count
                for layer in layers {
                    for site in sites {
                        guard let x = real[layer]?[site], let y = knockoffs[layer]?[site] else { continue }
                        let d = x.count / count
                        // δ past position 0.
                        let delta = (d..<x.count).map { x[$0] - y[$0] }
                        var gram = grams[layer]?[site] ?? Array(repeating: 0, count: d * d)
                        cblas_ssyrk(
                            CblasRowMajor, CblasUpper, CblasTrans, Int32(d), Int32(count - 1), 1, delta, Int32(d), 1,
                            &gram, Int32(d))
                        grams[layer, default: [:]][site] = gram
                    }
                }
                rows += count - 1
            }
        }
        var matrices: [Int: [SCOP.Unit: CappedSimplexQP]] = [:]
        for layer in layers {
            let shape = config.layers[layer]
            for unit in units where unit.count(in: shape) > 0 {
                guard let gram = grams[layer]?[unit.site] else { continue }
                let reader = model.tensor(unit.reader.name(layer: layer))!
                matrices[layer, default: [:]][unit] = Self.unitMatrix(
                    reader: reader, gram: gram, rows: max(rows, 1),
                    unitWidth: unit.width(shape, headDim: config.headDim))
            }
        }
        self.matrices = matrices
    }

    /// The units of `unit` in `layer` to remove when `count` go (per KV group of `groupSize`
    /// heads for query heads), ascending, and every unit's share u.
    func removed(layer: Int, unit: SCOP.Unit, count: Int, groupSize: Int) -> (units: [Int], shares: [Double]) {
        let program = matrices[layer]![unit]!
        let groups: [(range: Range<Int>, count: Int)] =
            unit == .heads
            ? stride(from: 0, to: program.size, by: groupSize).map { ($0..<$0 + groupSize, count) }
            : [(0..<program.size, count)]
        let shares = program.solve(groups: groups)
        let units = groups.flatMap { group in
            group.range.sorted { shares[$0] != shares[$1] ? shares[$0] > shares[$1] : $0 < $1 }.prefix(group.count)
        }
        return (units.sorted(), shares)
    }

    /// `A` over the units: `(WᵀW) ∘ (gram / rows)` summed over each unit's `unitWidth` × `unitWidth`
    /// block (`gram` the upper triangle of Σδᵀδ, `width × width`).
    private static func unitMatrix(reader: Tensor, gram: [Float], rows: Int, unitWidth: Int) -> CappedSimplexQP {
        let width = reader.columns, units = width / unitWidth
        var product = [Float](repeating: 0, count: width * width)
        cblas_ssyrk(
            CblasRowMajor, CblasUpper, CblasTrans, Int32(width), Int32(reader.rows), 1,
            reader.storage.buffer.baseAddress,
            Int32(width), 0, &product, Int32(width))
        var matrix = [Float](repeating: 0, count: units * units)
        let scale = 1 / Float(rows)
        for i in 0..<width {
            for j in i..<width {
                let value = product[i * width + j] * gram[i * width + j] * scale
                let a = i / unitWidth, b = j / unitWidth
                // (i, j) and its mirror (j, i) off the diagonal.
                matrix[a * units + b] += value
                if i != j { matrix[b * units + a] += value }
            }
        }
        return CappedSimplexQP(matrix: matrix, size: units)
    }
}
