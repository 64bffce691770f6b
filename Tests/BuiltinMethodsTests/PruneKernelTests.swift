import Kernels
import TestSupport
import Testing

/// Every pruning kernel against a plain scalar Swift reference, for every ISA variant this CPU
/// runs, over sizes that hit each vector tail. The kernels do not reassociate, so results are
/// bit-identical to the references.
@Suite struct PruneKernelTests {
    static let sizes = [0, 1, 7, 8, 9, 15, 16, 17, 31, 33, 1000]
    static let isas = [SHEARS_ISA_BASELINE, SHEARS_ISA_AVX2, SHEARS_ISA_AVX512]
        .filter { $0.rawValue <= shears_cpu_isa().rawValue }

    /// Runs `body` once per supported ISA on this thread (other threads are unaffected), restoring
    /// the widest afterwards.
    static func forEachISA(_ body: (String) throws -> Void) rethrows {
        defer { _ = shears_prune_select_thread_isa(shears_cpu_isa()) }
        for isa in isas {
            #expect(shears_prune_select_thread_isa(isa) == 1)
            try body(String(cString: shears_isa_name(isa)))
        }
    }

    /// Values on a coarse grid (many ties, as in quantised weights), signed.
    static func values(_ count: Int, seed: UInt64, levels: Float = 16) -> [Float] {
        var rng = SplitMix64(seed: seed)
        return (0..<count).map { _ in ((rng.nextUnitFloat() * 2 - 1) * levels).rounded() / levels }
    }

    @Test("column sums and sums of squares")
    func columnMoments() {
        Self.forEachISA { isa in
            for cols in Self.sizes {
                let rows = 5, ld = cols + 3
                let x = Self.values(rows * ld, seed: UInt64(cols), levels: 1000)
                var sum = [Float](repeating: 1, count: cols), squares = [Float](repeating: 2, count: cols)
                var expectedSum = sum, expectedSquares = squares
                for r in 0..<rows {
                    for j in 0..<cols {
                        expectedSum[j] += x[r * ld + j]
                        expectedSquares[j] += x[r * ld + j] * x[r * ld + j]
                    }
                }
                shears_prune_column_moments(x, rows, cols, ld, &sum, &squares)
                #expect(sum == expectedSum && squares == expectedSquares, "\(isa) cols \(cols)")
            }
        }
    }

    @Test("absolute scores with and without a column scale")
    func scores() {
        Self.forEachISA { isa in
            for cols in Self.sizes {
                let rows = 3
                let w = Self.values(rows * cols, seed: 7 + UInt64(cols))
                let scale = Self.values(cols, seed: 99).map { abs($0) + 0.5 }
                var scaled = [Float](repeating: 0, count: rows * cols), plain = scaled
                shears_prune_abs_scores(w, rows, cols, scale, &scaled)
                shears_prune_abs_scores(w, rows, cols, nil, &plain)
                #expect(scaled == (0..<rows * cols).map { abs(w[$0]) * scale[$0 % max(cols, 1)] }, "\(isa) \(cols)")
                #expect(plain == w.map(abs), "\(isa) \(cols)")
            }
        }
    }

    @Test("k-th smallest and the ≤ τ mask")
    func kthAndThreshold() {
        Self.forEachISA { isa in
            for n in Self.sizes where n > 0 {
                let x = Self.values(n, seed: UInt64(n) * 3, levels: 8)
                let sorted = x.sorted()
                var scratch = [Float](repeating: 0, count: n)
                for k in Set([0, n / 3, n / 2, n - 1]) {
                    let tau = shears_prune_kth_smallest(x, n, k, &scratch)
                    #expect(tau == sorted[k], "\(isa) n \(n) k \(k)")
                    var mask = [UInt8](repeating: 0, count: n)
                    let count = shears_prune_mask_at_most(x, n, tau, &mask)
                    #expect(mask == x.map { $0 <= tau ? 1 : 0 } && count == x.filter { $0 <= tau }.count)
                }
            }
        }
    }

    @Test("per-row exact-k selection with the stable sort's tie order")
    func rowSelection() {
        Self.forEachISA { isa in
            for cols in Self.sizes {
                let rows = 4
                let scores = Self.values(rows * cols, seed: 11 + UInt64(cols), levels: 4).map(abs)
                var scratch = [Float](repeating: 0, count: max(cols, 1))
                for k in Set([0, cols / 2, cols]) {
                    var mask = [UInt8](repeating: 9, count: rows * cols)
                    shears_prune_select_rows(scores, rows, cols, k, &mask, &scratch)
                    var expected = [UInt8](repeating: 0, count: rows * cols)
                    for r in 0..<rows {
                        // Stable ascending sort: by score, then by column.
                        let order = (0..<cols).sorted { (scores[r * cols + $0], $0) < (scores[r * cols + $1], $1) }
                        for j in order.prefix(k) { expected[r * cols + j] = 1 }
                    }
                    #expect(mask == expected, "\(isa) cols \(cols) k \(k)")
                }
            }
        }
    }

    @Test("N:M group selection, ties to the lower column")
    func groupSelection() {
        Self.forEachISA { isa in
            for (prune, m) in [(2, 4), (4, 8), (1, 4), (3, 4), (5, 8)] {
                for groups in [0, 1, 7, 9, 33] {
                    let rows = 3, cols = groups * m
                    let scores = Self.values(rows * cols, seed: UInt64(groups * m + prune), levels: 3).map(abs)
                    var mask = [UInt8](repeating: 9, count: rows * cols)
                    shears_prune_select_groups(scores, rows, cols, prune, m, &mask)
                    var expected = [UInt8](repeating: 0, count: rows * cols)
                    for base in stride(from: 0, to: rows * cols, by: m) {
                        let order = (0..<m).sorted { (scores[base + $0], $0) < (scores[base + $1], $1) }
                        for j in order.prefix(prune) { expected[base + j] = 1 }
                    }
                    #expect(mask == expected, "\(isa) \(prune) of \(m), \(groups) groups")
                }
            }
        }
    }

    @Test("applying a mask and counting zeros")
    func applyMask() {
        Self.forEachISA { isa in
            for n in Self.sizes {
                var w = Self.values(n, seed: UInt64(n) + 5)
                var rng = SplitMix64(seed: UInt64(n))
                let mask = (0..<n).map { _ in UInt8(rng.next() & 1) }
                let expected = (0..<n).map { mask[$0] != 0 ? 0 : w[$0] }
                let zeros = shears_prune_apply_mask(&w, mask, n)
                #expect(w == expected && zeros == expected.filter { $0 == 0 }.count, "\(isa) n \(n)")
                #expect(shears_prune_count_zeros(w, n) == zeros)
            }
        }
    }

    /// The sweep written out plainly.
    static func referenceSweep(
        _ w: inout [Float], rows: Int, cols: Int, ldw: Int, u: [Float], ldu: Int,
        mask: inout [UInt8], prune: Int, m: Int, err: inout [Float]
    ) {
        for r in 0..<rows {
            for c in 0..<cols {
                if prune > 0, c % m == 0 {
                    let saliency = (0..<m).map { j -> Float in
                        let d = u[(c + j) * ldu + c + j]
                        return w[r * ldw + c + j] * w[r * ldw + c + j] / (d * d)
                    }
                    let order = (0..<m).sorted { (saliency[$0], $0) < (saliency[$1], $1) }
                    for j in 0..<m { mask[r * cols + c + j] = order.prefix(prune).contains(j) ? 1 : 0 }
                }
                let value = w[r * ldw + c]
                let kept: Float = mask[r * cols + c] != 0 ? 0 : value
                let e = (value - kept) / u[c * ldu + c]
                w[r * ldw + c] = kept
                err[r * cols + c] = e
                if e != 0 { for j in c + 1..<cols { w[r * ldw + j] -= e * u[c * ldu + j] } }
            }
        }
    }

    @Test("SparseGPT column sweep, fixed mask and lazy N:M")
    func sweep() {
        Self.forEachISA { isa in
            for cols in Self.sizes {
                for (prune, m) in [(0, 1), (2, 4)] where prune == 0 || cols % m == 0 {
                    let rows = 3, ldw = cols + 2, ldu = cols + 1
                    let w0 = Self.values(rows * ldw, seed: UInt64(cols), levels: 64)
                    var u = Self.values(cols * ldu, seed: UInt64(cols) + 1, levels: 64).map { $0 * 0.3 }
                    for j in 0..<cols { u[j * ldu + j] = 0.5 + abs(u[j * ldu + j]) }
                    var rng = SplitMix64(seed: UInt64(cols) + 2)
                    let mask0 = (0..<rows * cols).map { _ in prune > 0 ? UInt8(0) : UInt8(rng.next() % 3 == 0 ? 1 : 0) }
                    var (w, mask, err) = (w0, mask0, [Float](repeating: 0, count: rows * cols))
                    var (ew, emask, eerr) = (w0, mask0, err)
                    shears_sparsegpt_sweep(&w, rows, cols, ldw, u, ldu, &mask, cols, prune, m, &err, cols)
                    Self.referenceSweep(
                        &ew, rows: rows, cols: cols, ldw: ldw, u: u, ldu: ldu, mask: &emask,
                        prune: prune, m: m, err: &eerr)
                    #expect(w == ew && mask == emask && err == eerr, "\(isa) cols \(cols) prune \(prune)")
                }
            }
        }
    }
}
