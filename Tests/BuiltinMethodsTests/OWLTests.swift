import BuiltinMethods
import Inference
import ModelIO
import PruningEngine
import TestSupport
import Testing

/// OWL: outlier ratios from the dense model against a scalar reference, the sparsity map on
/// crafted numbers (mean kept, the 0.01 clamp, max == min, N:M integer counts), the two passes
/// through the engine, and parameter errors.
@Suite struct OWLTests {
    /// The reference's map for unstructured sparsity, written out in Double.
    static func referenceMap(_ ratios: [Double], sparsity: Double, lambda: Double) -> [Double] {
        let low = ratios.min()!, high = ratios.max()!
        let z = ratios.map { high > low ? ($0 - low) * (1 / (high - low) * lambda * 2) : 0 }
        let mean = z.reduce(0, +) / Double(z.count)
        return z.map { value in
            let layer = 1 - (value - mean + (1 - sparsity))
            return layer <= 0 ? 0.01 : layer
        }
    }

    static func plan(_ allocator: OWLAllocator, _ ratios: [Double]) throws -> [LayerTarget] {
        try allocator.plan(ratios.enumerated().map { (layer: $0.offset, measure: $0.element) })
    }

    @Test("unstructured map: spread ±λ, mean kept exactly, more outliers → lower sparsity")
    func unstructuredMap() throws {
        let targets = try Self.plan(try OWLAllocator(sparsity: 0.5, lambda: 0.08), [1, 2, 3, 4]).map(\.sparsity)
        let expected = [0.58, 0.58 - 0.16 / 3, 0.58 - 0.32 / 3, 0.42]
        for (got, want) in zip(targets, expected) { #expect(abs(got - want) < 1e-12, "\(targets)") }
        #expect(abs(targets.reduce(0, +) / 4 - 0.5) < 1e-15)
        #expect(targets == Self.referenceMap([1, 2, 3, 4], sparsity: 0.5, lambda: 0.08))
        let uneven = [0.4, 3.1, 0.9, 2.2, 1.7]
        let mapped = try Self.plan(try OWLAllocator(sparsity: 0.7, lambda: 0.08), uneven).map(\.sparsity)
        #expect(mapped == Self.referenceMap(uneven, sparsity: 0.7, lambda: 0.08))
        #expect(abs(mapped.reduce(0, +) / 5 - 0.7) < 1e-15)
    }

    @Test("the 0.01 clamp, and every layer at p when all ratios are equal")
    func edges() throws {
        let clamped = try Self.plan(try OWLAllocator(sparsity: 0.05, lambda: 0.1), [1, 2, 3]).map(\.sparsity)
        #expect(abs(clamped[0] - 0.15) < 1e-12 && abs(clamped[1] - 0.05) < 1e-12 && clamped[2] == 0.01)
        #expect(try Self.plan(try OWLAllocator(sparsity: 0.6), [2.5, 2.5, 2.5]).map(\.sparsity) == [0.6, 0.6, 0.6])
        #expect(throws: PruneError("OWL gives layer 0 sparsity 1.4 ≥ 1: lower lambda (0.5)")) {
            try Self.plan(try OWLAllocator(sparsity: 0.9, lambda: 0.5), [1, 2])
        }
    }

    @Test("N:M: λ not doubled, rounded half to even, N − round(z) pruned per group; 0 leaves a layer dense")
    func patterns() throws {
        let twoFour = try Self.plan(
            try OWLAllocator(sparsity: nil, pattern: .nm(keep: 2, group: 4), lambda: 2), [1, 2, 3, 4])
        #expect(
            twoFour.map(\.pattern) == [
                .nm(keep: 1, group: 4), .nm(keep: 2, group: 4), .nm(keep: 2, group: 4), .nm(keep: 3, group: 4),
            ])
        #expect(twoFour.map(\.sparsity) == [0.75, 0.5, 0.5, 0.25])
        // z = ±0.5 rounds to 0 (half to even): every layer keeps 2:4.
        let halves = try Self.plan(try OWLAllocator(sparsity: nil, pattern: .nm(keep: 2, group: 4), lambda: 1), [1, 2])
        #expect(halves.map(\.pattern) == [.nm(keep: 2, group: 4), .nm(keep: 2, group: 4)])
        let dense = try Self.plan(
            try OWLAllocator(sparsity: nil, pattern: .nm(keep: 3, group: 4), lambda: 2), [1, 2, 3, 4])
        #expect(dense.last == LayerTarget(sparsity: 0, pattern: .unstructured, measure: 4))
        #expect(throws: PruneError("OWL gives layer 0 4 pruned of 4, outside 0..<4: lower lambda (4.0)")) {
            try Self.plan(try OWLAllocator(sparsity: nil, pattern: .nm(keep: 2, group: 4), lambda: 4), [1, 2, 3, 4])
        }
    }

    @Test("bad parameters fail clearly")
    func badParameters() throws {
        #expect(throws: PruneError("OWL lambda -0.1 must be finite and ≥ 0")) {
            try OWLAllocator(sparsity: 0.5, lambda: -0.1)
        }
        #expect(throws: PruneError("OWL lambda nan must be finite and ≥ 0")) {
            try OWLAllocator(sparsity: 0.5, lambda: .nan)
        }
        #expect(throws: PruneError("OWL outlier multiplier M 0.0 must be positive and finite")) {
            try OWLAllocator(sparsity: 0.5, outlierMultiplier: 0)
        }
        #expect(throws: PruneError("OWL outlier multiplier M inf must be positive and finite")) {
            try OWLAllocator(sparsity: 0.5, outlierMultiplier: .infinity)
        }
        #expect(throws: PruneError("OWL needs a sparsity (or an N:M pattern)")) { try OWLAllocator(sparsity: nil) }
        #expect(throws: PruneError("OWL sparsity 1.0 is outside [0, 1)")) { try OWLAllocator(sparsity: 1) }
        #expect(throws: PruneError.self) { try OWLAllocator(sparsity: 0.6, pattern: .nm(keep: 2, group: 4)) }
    }

    /// Per layer, the dense model's Wanda scores of the seven linears (scalar, Double statistics),
    /// layer inputs propagated densely.
    static func referenceRatios(_ model: Model, _ windows: [[Int32]], multiplier: Double) throws -> [Double] {
        let config = model.config, hidden = config.hiddenSize
        let forward = try DecoderLayerForward(model: model, capacity: windows.map(\.count).max()!)
        let embedding = model.tensor(LlamaTensorNames.tokenEmbedding)!.storage.buffer
        var states = windows.map { window in
            window.flatMap { Array(embedding[Int($0) * hidden..<(Int($0) + 1) * hidden]) }
        }
        var ratios: [Double] = []
        for layer in 0..<config.layerCount {
            var squares: [LinearInputSite: [Double]] = [:]
            var sequences = 0
            for index in states.indices {
                let rows = windows[index].count
                var output = [Float](repeating: 0, count: rows * hidden)
                var perSequence: [LinearInputSite: [Double]] = [:]
                try states[index].withUnsafeMutableBufferPointer { input in
                    try output.withUnsafeMutableBufferPointer { out in
                        try forward.run(layer: layer, input: input.baseAddress!, rows: rows, output: out.baseAddress!) {
                            site, values in
                            let width = values.count / rows
                            var sums = [Double](repeating: 0, count: width)
                            for (i, v) in values.enumerated() { sums[i % width] += Double(v) * Double(v) }
                            perSequence[site] = sums
                        }
                    }
                }
                sequences += 1
                for (site, sums) in perSequence {
                    let previous = squares[site] ?? [Double](repeating: 0, count: sums.count)
                    squares[site] = zip(previous, sums).map {
                        $0 * Double(sequences - 1) / Double(sequences) + $1 / Double(sequences)
                    }
                }
                states[index] = output
            }
            var scores: [Double] = []
            for part in LlamaTensorNames.Layer.allCases where part.isLinear {
                let tensor = model.tensor(part.name(layer: layer))!
                let norms = squares[LinearMatrix.site(part)]!.map { $0.squareRoot() }
                for i in 0..<tensor.count {
                    scores.append(abs(Double(tensor.storage.buffer[i])) * norms[i % tensor.columns])
                }
            }
            let limit = scores.reduce(0, +) / Double(scores.count) * multiplier
            ratios.append(100 * Double(scores.filter { $0 > limit }.count) / Double(scores.count))
        }
        return ratios
    }

    @Test("tiny model: ratios from the dense model, the map, exact counts; pass 2 restarts from the captured input")
    func tinyModel() throws {
        let windows = PrunerTests.windows(4, length: 16)
        let model = try TinyModel.make()
        let expectedRatios = try Self.referenceRatios(try TinyModel.make(), windows, multiplier: 2)
        let report = try Pruner(
            model: model,
            steps: try PruneMethod.owl(sparsity: 0.6, outlierMultiplier: 2, lambda: 0.1)
                + PruneMethod.wanda(sparsity: nil)
        ).run(calibration: windows)
        let ratios = report.layers.map { $0.plan!.measure! }
        let weights = report.layers[0].matrices.reduce(0) { $0 + $1.count }
        for (got, want) in zip(ratios, expectedRatios) {
            #expect(abs(got - want) <= 100 / Double(weights) + 1e-9, "ratios \(ratios), reference \(expectedRatios)")
        }
        #expect(ratios[0] != ratios[1])
        let targets = report.layers.map { $0.plan!.sparsity }
        #expect(targets == Self.referenceMap(ratios, sparsity: 0.6, lambda: 0.1))
        #expect(abs((targets[0] + targets[1]) / 2 - 0.6) < 1e-15 && abs(abs(targets[0] - targets[1]) - 0.2) < 1e-12)
        var expectedZeros = 0
        for (layer, target) in zip(report.layers, targets) {
            for matrix in layer.matrices {
                let columns = model.tensor(matrix.name)!.columns
                let zeros = matrix.count / columns * Int(Double(columns) * target)
                #expect(matrix.zeros == zeros && matrix.targetSparsity == target, "\(matrix.name)")
                #expect(matrix.notes.first?.hasPrefix("owl: outlier ratio") == true)
                expectedZeros += zeros
            }
        }
        #expect(report.layers.flatMap(\.matrices).reduce(0) { $0 + $1.zeros } == expectedZeros)
        // Pass 2 is a plain prune at the planned targets from the captured decoder input.
        let replay = try TinyModel.make()
        _ = try Pruner(model: replay, steps: try PruneMethod.layerSparsity(targets) + PruneMethod.wanda(sparsity: nil))
            .run(calibration: windows)
        for tensor in replay.tensors {
            #expect(model.tensor(tensor.name)!.storage.array == tensor.storage.array, "\(tensor.name)")
        }
    }

    @Test("OWL + magnitude: the survey still uses data; the prune itself does not need it")
    func magnitude() throws {
        let model = try TinyModel.make()
        let report = try Pruner(
            model: model,
            steps: try PruneMethod.owl(sparsity: 0.5, outlierMultiplier: 2)
                + PruneMethod.magnitude(sparsity: nil, scope: .row)
        ).run(calibration: PrunerTests.windows())
        #expect(report.calibrationWindows == 3 && report.layers.allSatisfy { $0.plan != nil && $0.outputError == nil })
        #expect(throws: PruneError("calibration: no token windows given, but the steps need data")) {
            try Pruner(
                model: try TinyModel.make(),
                steps: try PruneMethod.owl(sparsity: 0.5)
                    + PruneMethod.magnitude(sparsity: nil, scope: .row)
            ).run(calibration: [])
        }
    }
}
