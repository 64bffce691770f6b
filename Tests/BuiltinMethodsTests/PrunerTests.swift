import BuiltinMethods
import Foundation
import Inference
import ModelIO
import PruningEngine
import TestSupport
import Testing

/// The engine on tiny random models: statistics from the dense layer, exact counts, targets,
/// callbacks, reports and bad input.
@Suite struct PrunerTests {
    static func windows(_ count: Int = 3, length: Int = 12, seed: UInt64 = 9) -> [[Int32]] {
        var rng = SplitMix64(seed: seed)
        return (0..<count).map { _ in (0..<length).map { _ in Int32(rng.next() % 300) } }
    }

    @Test("activations above the memory limit live in a scratch file; a limit below one window is refused")
    func activationSpill() throws {
        let calibration = Self.windows(4, length: 24)
        let directory = try TemporaryDirectory()
        func run(limit: Int?) throws -> (Model, PruneReport) {
            let model = try TinyModel.make()
            model.scratchDirectory = directory.path("")
            var options = PruneOptions()
            options.memoryLimit = limit
            let report = try BLASThreads.singleThreaded {
                try Pruner(model: model, steps: try PruneMethod.sparseGPT(sparsity: 0.5), options: options)
                    .run(calibration: calibration)
            }
            return (model, report)
        }
        let (resident, inMemory) = try run(limit: nil)
        // Activations: 4 × 24 tokens × hidden 32 × 2 buffers × 4 B = 24 KiB. One window needs 24 KiB
        // too: 6 KiB of activations and 18 KiB of workspace (24 rows × (3 · 32 + 2 · 48) floats).
        let (spilled, onDisk) = try run(limit: 40 << 10)
        #expect(inMemory.spilledActivationBytes == 0)
        #expect(onDisk.spilledActivationBytes == 2 * 96 * 32 * 4)
        for tensor in resident.tensors {
            #expect(spilled.tensor(tensor.name)!.storage.array == tensor.storage.array, "\(tensor.name)")
        }
        #expect(onDisk.layers.map(\.outputError) == inMemory.layers.map(\.outputError))
        // The scratch files are unlinked as soon as they are made.
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path("")).isEmpty)

        let error = try #require(throws: PruneError.self) { try run(limit: 16 << 10) }
        #expect(error.message.contains("below what one calibration window needs"), "\(error.message)")
        #expect(error.message.contains(": 24 KiB") && error.message.contains("--max-memory"), "\(error.message)")
    }

    @Test("Wanda's layer-0 masks come from the dense layer-0 inputs, exact counts per row")
    func wandaLayerZero() throws {
        let model = try TinyModel.make()
        let reference = try TinyModel.make()
        let calibration = Self.windows()
        var layers: [Int] = []
        var options = PruneOptions()
        options.onLayer = { layer, _ in layers.append(layer) }
        let report = try Pruner(model: model, steps: try PruneMethod.wanda(sparsity: 0.5), options: options)
            .run(calibration: calibration)
        #expect(layers == [0, 1] && report.calibrationWindows == 3 && report.calibrationTokens == 36)

        // Independent statistics: run the dense layer 0 over each window, sum squares in Double.
        let forward = try DecoderLayerForward(model: reference, capacity: 12)
        let embedding = reference.tensor(LlamaTensorNames.tokenEmbedding)!.storage.buffer
        var squares: [LinearInputSite: [Double]] = [:]
        for window in calibration {
            var x = window.flatMap { Array(embedding[Int($0) * 32..<(Int($0) + 1) * 32]) }
            try x.withUnsafeMutableBufferPointer { buffer in
                try forward.run(layer: 0, input: buffer.baseAddress!, rows: 12, output: buffer.baseAddress!) {
                    site, values in
                    let width = values.count / 12
                    var sums = squares[site] ?? [Double](repeating: 0, count: width)
                    for (i, v) in values.enumerated() { sums[i % width] += Double(v) * Double(v) }
                    squares[site] = sums
                }
            }
        }
        for part in LlamaTensorNames.Layer.allCases where part.isLinear {
            let name = part.name(layer: 0)
            let original = reference.tensor(name)!, pruned = model.tensor(name)!
            let norms = squares[LinearMatrix.site(part)]!.map { $0.squareRoot() }
            let columns = original.columns
            for r in 0..<original.rows {
                let scores = (0..<columns).map { abs(Double(original.storage.buffer[r * columns + $0])) * norms[$0] }
                let order = (0..<columns).sorted { (scores[$0], $0) < (scores[$1], $1) }
                let prunedColumns = Set(order.prefix(columns / 2))
                for j in 0..<columns {
                    let expected = prunedColumns.contains(j) ? 0 : original.storage.buffer[r * columns + j]
                    #expect(pruned.storage.buffer[r * columns + j] == expected, "\(name) row \(r) column \(j)")
                }
            }
        }
        for layer in report.layers {
            #expect(layer.matrices.allSatisfy { $0.zeros == $0.count / 2 })
            #expect(layer.outputError.map { $0 > 0 && $0 < 1 } == true)
        }
    }

    @Test("targets and ignores choose the matrices; the rest stays untouched")
    func targets() throws {
        let model = try TinyModel.make()
        let reference = try TinyModel.make()
        var options = PruneOptions()
        options.targets = [TensorNamePattern("blk.*.ffn_*")]
        options.ignore = [TensorNamePattern("blk.0.*")]
        var started: [Int] = []
        options.progress = { started.append($0.layer) }
        let report = try Pruner(
            model: model, steps: try PruneMethod.magnitude(sparsity: 0.25, scope: .row),
            options: options
        ).run(calibration: [])
        #expect(report.layers.map(\.layer) == [1] && started == [1])
        #expect(
            report.layers[0].matrices.map(\.name) == [
                "blk.1.ffn_gate.weight", "blk.1.ffn_up.weight", "blk.1.ffn_down.weight",
            ])
        for tensor in reference.tensors where !tensor.name.hasPrefix("blk.1.ffn_") || tensor.name.contains("norm") {
            #expect(model.tensor(tensor.name)!.storage.array == tensor.storage.array, "\(tensor.name) changed")
        }
        #expect(report.layers[0].matrices.allSatisfy { $0.zeros == $0.count / 4 })
    }

    @Test("SparseGPT and N:M through the engine reach the requested sparsity")
    func sparseGPTAndNM() throws {
        let model = try TinyModel.make()
        let report = try Pruner(
            model: model, steps: try PruneMethod.sparseGPT(sparsity: nil, pattern: .nm(keep: 2, group: 4))
        )
        .run(calibration: Self.windows())
        for matrix in report.layers.flatMap(\.matrices) {
            let weights = model.tensor(matrix.name)!.storage.array
            for base in stride(from: 0, to: weights.count, by: 4) {
                #expect(weights[base..<base + 4].filter { $0 != 0 }.count <= 2, "\(matrix.name) group \(base)")
            }
        }
        let wanda = try TinyModel.make()
        let nm = try Pruner(model: wanda, steps: try PruneMethod.wanda(sparsity: 0.5, pattern: .nm(keep: 4, group: 8)))
            .run(calibration: Self.windows())
        #expect(nm.layers.flatMap(\.matrices).allSatisfy { $0.zeros == $0.count / 2 })
    }

    @Test("the Wanda variant lands near the target sparsity")
    func wandaVariant() throws {
        let model = try TinyModel.make()
        let report = try Pruner(model: model, steps: try PruneMethod.wanda(sparsity: 0.5, variant: true))
            .run(calibration: Self.windows())
        for matrix in report.layers.flatMap(\.matrices) {
            #expect(abs(matrix.sparsity - 0.5) < 0.05, "\(matrix.name): \(matrix.sparsity)")
        }
    }

    @Test("bad requests fail with a clear message")
    func badInput() throws {
        let model = try TinyModel.make()
        func message(_ body: () throws -> Void) -> String {
            do { try body() } catch { return "\(error)" }
            return "no error"
        }
        var options = PruneOptions()
        options.targets = [TensorNamePattern("blk.9.*")]
        #expect(
            message { _ = try Pruner(model: model, steps: try PruneMethod.wanda(sparsity: 0.5), options: options) }
                .contains("match no linear matrix"))
        #expect(message { _ = try PruneMethod.wanda(sparsity: 1.0) }.contains("outside [0, 1)"))
        #expect(
            message { _ = try PruneMethod.wanda(sparsity: 0.5, pattern: .nm(keep: 2, group: 4), variant: true) }
                .contains("unstructured"))
        #expect(
            message { _ = try PruneMethod.magnitude(sparsity: 0.6, pattern: .nm(keep: 2, group: 4)) }.contains(
                "contradicts"))
        #expect(
            message {
                _ = try Pruner(
                    model: model, steps: try PruneMethod.wanda(sparsity: nil, pattern: .nm(keep: 3, group: 7))
                )
                .run(calibration: Self.windows())
            }.contains("divide the input dimension"))
        #expect(
            message { _ = try Pruner(model: model, steps: try PruneMethod.wanda(sparsity: 0.5)).run(calibration: []) }
                .contains("no token windows"))
        #expect(
            message {
                _ = try Pruner(model: model, steps: try PruneMethod.wanda(sparsity: 0.5)).run(calibration: [[1, 300]])
            }
            .contains("outside the vocabulary"))
        #expect(
            message { _ = try Pruner(model: model, steps: [RowSelector(), WandaScore()]) }.contains("cannot follow"))
        #expect(
            message { _ = try Pruner(model: model, steps: [try UniformSparsity(0.5), WandaScore()]) }
                .contains("no step chooses a mask"))
    }

    @Test("chains: exactly one allocator, a refiner needs a selector before it, methods without a sparsity")
    func chains() throws {
        let model = try TinyModel.make()
        func message(_ steps: () throws -> [any PruneStep]) -> String {
            do { _ = try Pruner(model: model, steps: try steps()) } catch { return "\(error)" }
            return "no error"
        }
        #expect(
            message { try PruneMethod.wanda(sparsity: nil) }
                == "no sparsity: give sparsity = ... or put an allocator such as shears.owl{...} first")
        #expect(
            message { try PruneMethod.owl(sparsity: 0.7) + PruneMethod.wanda(sparsity: 0.5) }
                == "sparsity given twice: by owl and uniform")
        #expect(
            message { try PruneMethod.wanda(sparsity: 0.5) + PruneMethod.owl(sparsity: 0.7) }
                == "step owl (allocator) cannot follow per-row (selector)")
        #expect(
            message {
                try [UniformSparsity(0.5), WandaScore()] + PruneMethod.dsnot() + [
                    SparseGPTReconstructor(maskSource: .fixedMask)
                ]
            }
                == "step dsnot refines a mask but no selector (such as wanda) chooses one before it")
        #expect(
            message { try PruneMethod.dsnot() + PruneMethod.wanda(sparsity: 0.5) }
                == "step uniform (allocator) cannot follow dsnot (refiner)")
        #expect(
            message { try PruneMethod.layerSparsity([0.5, 0.5, 0.5]) + PruneMethod.wanda(sparsity: nil) }
                == "layer sparsity lists 3 values for a model of 2 layers")
        #expect(
            message {
                try PruneMethod.ria(sparsity: nil, pattern: .nm(keep: 2, group: 4), permute: true) + PruneMethod.dsnot()
            }
                == "step dsnot cannot refine the mask of 2:4-permuted: its N:M groups are in permuted channel order; drop permute or the refiner"
        )
        for steps in [
            try PruneMethod.owl(sparsity: 0.7) + PruneMethod.wanda(sparsity: nil),
            try PruneMethod.owl(sparsity: 0.7) + PruneMethod.sparseGPT(sparsity: nil),
            try PruneMethod.wanda(sparsity: 0.6) + PruneMethod.dsnot(),
            try PruneMethod.wanda(sparsity: 0.5) + PruneMethod.dsnot() + [
                SparseGPTReconstructor(maskSource: .fixedMask)
            ],
            try PruneMethod.layerSparsity([0.3, 0.6]) + PruneMethod.magnitude(sparsity: nil, scope: .row),
        ] {
            #expect(throws: Never.self) {
                try Pruner(model: try TinyModel.make(), steps: steps).run(calibration: Self.windows())
            }
        }
    }

    /// Rows of 32 columns run short of pruned weights of one sign within 50 cycles, where the
    /// reference grows kept weights; `growPrunedOnly` keeps the counts exact.
    @Test("Wanda + DSnoT (grow_pruned_only) and with reconstruct through the engine keep every row's count")
    func dsnotChains() throws {
        for extra in [[], [try SparseGPTReconstructor(maskSource: .fixedMask)] as [any PruneStep]] {
            let model = try TinyModel.make()
            let steps =
                try PruneMethod.wanda(sparsity: 0.5)
                + PruneMethod.dsnot(parts: DSnoTRefiner.parts(named: "all"), growPrunedOnly: true)
                + extra
            let report = try Pruner(model: model, steps: steps).run(calibration: Self.windows())
            #expect(report.steps == ["uniform", "wanda", "per-row", "dsnot"] + extra.map(\.name))
            for matrix in report.layers.flatMap(\.matrices) {
                #expect(matrix.notes.contains { $0.hasPrefix("dsnot: ") }, "\(matrix.name)")
                let tensor = model.tensor(matrix.name)!
                for row in 0..<tensor.rows {
                    let zeros = (0..<tensor.columns).filter { tensor.storage.buffer[row * tensor.columns + $0] == 0 }
                        .count
                    #expect(zeros == tensor.columns / 2, "\(matrix.name) row \(row)")
                }
            }
        }
    }

    @Test("non-finite activations name the layer and the tensors")
    func nonFinite() throws {
        let model = try TinyModel.make()
        let embedding = model.tensor(LlamaTensorNames.tokenEmbedding)!
        var values = embedding.storage.array
        values[5 * 32 + 3] = .nan
        model.replace(Tensor(name: embedding.name, shape: embedding.shape, storage: TensorStorage(values)))
        do {
            _ = try Pruner(model: model, steps: try PruneMethod.wanda(sparsity: 0.5)).run(calibration: [[1, 5, 7]])
            Issue.record("no error")
        } catch {
            #expect(error.message.contains("layer 0") && error.message.contains("blk.0.attn_q.weight"), "\(error)")
        }
    }
}
