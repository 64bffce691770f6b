import BuiltinMethods
import ModelIO
import PruningEngine
import TestSupport
import Testing

/// DSnoT against the literal transcription of the reference loop: the same decisions cycle by
/// cycle, the same final masks, exact row counts, the MLP skip, parameter checks.
@Suite struct DSnoTTests {
    /// A random matrix with statistics from random activations (per-column means of both signs),
    /// masked by Wanda per row at `sparsity` or by the N:M `pattern`.
    static func work(
        rows: Int, columns: Int, sparsity: Double, pattern: SparsityPattern = .unstructured,
        part: LlamaTensorNames.Layer = .query, seed: UInt64 = 3
    ) throws -> MatrixWork {
        var rng = SplitMix64(seed: seed)
        let weights = (0..<rows * columns).map { _ in (rng.nextUnitFloat() * 2 - 1) * 0.1 }
        let statistics = InputStatistics(columns: columns, requirement: [.squaredNorms, .moments])
        let means = (0..<columns).map { _ in rng.nextUnitFloat() * 2 - 1 }
        let scales = (0..<columns).map { j in rng.nextUnitFloat() * 1.5 + (j % 17 == 0 ? 0 : 0.05) }
        for _ in 0..<3 {
            let tokens = 32
            var x = [Float](repeating: 0, count: tokens * columns)
            for t in 0..<tokens {
                for j in 0..<columns { x[t * columns + j] = means[j] + (rng.nextUnitFloat() * 2 - 1) * scales[j] }
            }
            x.withUnsafeBufferPointer { statistics.accumulate($0) }
        }
        let work = MatrixWork(
            name: part.name(layer: 0), layer: 0, part: part, rows: rows, columns: columns,
            weights: TensorStorage(weights), statistics: statistics)
        let steps =
            pattern == .unstructured
            ? try PruneMethod.wanda(sparsity: sparsity) : try PruneMethod.wanda(sparsity: nil, pattern: pattern)
        for step in steps { try step.run(work) }
        return work
    }

    static func input(_ work: MatrixWork) -> DSnoTReference.Input {
        let statistics = work.statistics!
        return DSnoTReference.Input(
            rows: work.rows, columns: work.columns, weights: work.weights.array,
            sums: statistics.sums, variances: statistics.variances,
            squaredNorms: statistics.squaredNorms, mask: work.mask, scores: work.scores)
    }

    static func prunedPerRow(_ mask: [UInt8], _ columns: Int) -> [Int] {
        stride(from: 0, to: mask.count, by: columns).map { base in
            mask[base..<base + columns].reduce(0) { $0 + Int($1) }
        }
    }

    @Test(
        "unstructured: every decision and the final mask match the reference loop",
        arguments: [(0.6, 1.0, 50), (0.5, 2.0, 6)])
    func unstructured(sparsity: Double, power: Double, cycles: Int) throws {
        let work = try Self.work(rows: 160, columns: 256, sparsity: sparsity) // enough rows for two workers
        let input = Self.input(work)
        let refiner = try DSnoTRefiner(maxCycles: cycles, threshold: 0.1, power: power)
        let traces = try refiner.refine(work, trace: true)
        let expected = DSnoTReference.unstructured(input, maxCycles: cycles, threshold: 0.1, power: power)
        #expect(traces.count == 160 && traces.map(\.row) == Array(0..<160))
        var swaps = 0
        for trace in traces {
            let decisions = trace.cycles.map {
                DSnoTReference.Decision(
                    cycle: $0.cycle, regrown: $0.regrown, pruned: $0.pruned!, errorBefore: $0.errorBefore,
                    applied: $0.applied)
            }
            #expect(decisions == expected.decisions[trace.row], "row \(trace.row)")
            swaps += trace.swaps
        }
        #expect(swaps > 160, "the test should exercise many swaps, got \(swaps)")
        #expect(traces.contains { $0.stop == (cycles == 50 ? .threshold : .maxCycles) })
        #expect(work.mask == expected.mask)
        #expect(work.mask != input.mask)
        #expect(Self.prunedPerRow(work.mask, 256) == Self.prunedPerRow(input.mask, 256))
    }

    @Test("N:M: decisions, sign test and masks match the reference loop; the pattern holds")
    func groups() throws {
        let work = try Self.work(rows: 136, columns: 512, sparsity: 0.5, pattern: .nm(keep: 4, group: 8))
        #expect(work.pattern == .nm(keep: 4, group: 8))
        let input = Self.input(work)
        let traces = try DSnoTRefiner(threshold: 0.1).refine(work, trace: true)
        let expected = DSnoTReference.groups(input, group: 8, maxCycles: 50, threshold: 0.1, power: 1)
        #expect(!expected.groupExhausted, "pick data where every group keeps a candidate")
        for trace in traces {
            let decisions = trace.cycles.map {
                DSnoTReference.Decision(
                    cycle: $0.cycle, regrown: $0.regrown, pruned: $0.pruned ?? -1,
                    errorBefore: $0.errorBefore, applied: $0.applied)
            }
            #expect(decisions == expected.decisions[trace.row], "row \(trace.row)")
        }
        #expect(traces.contains { $0.stop == .signChange } && traces.reduce(0) { $0 + $1.swaps } > 136)
        #expect(work.mask == expected.mask)
        for base in stride(from: 0, to: work.mask.count, by: 8) {
            #expect(work.mask[base..<base + 8].reduce(0) { $0 + Int($1) } == 4, "group at \(base)")
        }
    }

    @Test("MLP matrices keep their mask by default; layers = all refines them")
    func layerSelection() throws {
        let gate = try Self.work(rows: 16, columns: 128, sparsity: 0.6, part: .gate)
        let before = gate.mask
        try DSnoTRefiner().run(gate)
        #expect(gate.mask == before && gate.notes.isEmpty)
        try DSnoTRefiner(parts: try DSnoTRefiner.parts(named: "all")).run(gate)
        #expect(gate.mask != before && gate.notes.count == 1)
        #expect(try DSnoTRefiner.parts(named: "mlp") == [.gate, .up, .down])
        #expect(try DSnoTRefiner.parts(named: "attn_v") == [.value])
        #expect(throws: PruneError.self) { try DSnoTRefiner.parts(named: "attn_norm") }
    }

    @Test(
        "rows that run short of pruned weights keep their count: the default stops them, grow_pruned_only grows the other sign"
    )
    func rowsRunningShort() throws {
        let reference = try Self.work(rows: 32, columns: 64, sparsity: 0.1)
        let clean = try Self.work(rows: 32, columns: 64, sparsity: 0.1)
        let counts = Self.prunedPerRow(reference.mask, 64)
        let traces = try DSnoTRefiner(threshold: 0).refine(reference, trace: true)
        try DSnoTRefiner(threshold: 0, growPrunedOnly: true).run(clean)
        #expect(Self.prunedPerRow(clean.mask, 64) == counts)
        #expect(Self.prunedPerRow(reference.mask, 64) == counts)
        #expect(traces.contains { $0.stop == .exhausted }, "the data must make some row run short")
        #expect(reference.mask != clean.mask)
    }

    @Test("bad parameters and a missing mask fail clearly")
    func badInput() throws {
        #expect(throws: PruneError("DSnoT max_cycles -1 must be ≥ 0")) { try DSnoTRefiner(maxCycles: -1) }
        #expect(throws: PruneError("DSnoT threshold nan must be finite and ≥ 0")) { try DSnoTRefiner(threshold: .nan) }
        #expect(throws: PruneError("DSnoT threshold inf must be finite and ≥ 0")) {
            try DSnoTRefiner(threshold: .infinity)
        }
        #expect(throws: PruneError("DSnoT power -1.0 must be finite and ≥ 0")) { try DSnoTRefiner(power: -1) }
        let work = try Self.work(rows: 4, columns: 16, sparsity: 0.5)
        work.mask = []
        #expect(throws: PruneError("blk.0.attn_q.weight: step dsnot needs a mask from a selector step before it")) {
            try DSnoTRefiner().run(work)
        }
    }
}
