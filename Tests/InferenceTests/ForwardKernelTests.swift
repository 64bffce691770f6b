import Foundation
import Kernels
import TestSupport
import Testing

/// Every forward kernel against a scalar Double reference, for every ISA variant this CPU runs,
/// over sizes that hit each vector tail.
@Suite struct ForwardKernelTests {
    static let sizes = [0, 1, 7, 8, 9, 15, 16, 17, 31, 33, 1000]
    static let isas = [SHEARS_ISA_BASELINE, SHEARS_ISA_AVX2, SHEARS_ISA_AVX512].filter {
        $0.rawValue <= shears_cpu_isa().rawValue
    }

    /// Runs `body` once per supported ISA on this thread (other threads are unaffected), restoring
    /// the widest afterwards.
    static func forEachISA(_ body: (String) throws -> Void) rethrows {
        defer { _ = shears_forward_select_thread_isa(shears_cpu_isa()) }
        for isa in isas {
            #expect(shears_forward_select_thread_isa(isa) == 1)
            try body(String(cString: shears_isa_name(isa)))
        }
    }

    static func random(_ count: Int, seed: UInt64, scale: Float = 4) -> [Float] {
        var rng = SplitMix64(seed: seed)
        return (0..<count).map { _ in (rng.nextUnitFloat() * 2 - 1) * scale }
    }

    static func expectClose(
        _ actual: [Float], _ expected: [Double], relative: Double, absolute: Double = 0,
        _ what: String
    ) {
        #expect(actual.count == expected.count, "\(what): count")
        for (i, (a, e)) in zip(actual, expected).enumerated() where abs(Double(a) - e) > relative * abs(e) + absolute {
            Issue.record("\(what): element \(i) is \(a), expected \(e)")
            return
        }
    }

    @Test func exponential() {
        Self.forEachISA { isa in
            for n in Self.sizes {
                let x = Self.random(n, seed: UInt64(n), scale: 80)
                var y = [Float](repeating: .nan, count: n)
                shears_exp(x, &y, n)
                Self.expectClose(y, x.map { exp(Double($0)) }, relative: 3e-7, absolute: 1e-37, "\(isa) exp n=\(n)")
            }
            let edges: [Float] = [-200, -87.5, -87, -10, -1e-8, 0, 1e-8, 0.5, 0.34657359, 1, 10, 88, 100]
            var y = [Float](repeating: .nan, count: edges.count)
            shears_exp(edges, &y, edges.count)
            #expect(y[0] == 0 && y[1] == 0 && y[5] == 1, "\(isa) exp edges \(y)")
            #expect(abs(Double(y[11]) / exp(88.0) - 1) < 1e-6 && y[12] == y[11], "\(isa) exp clamps at 88")
        }
    }

    @Test func sum() {
        Self.forEachISA { isa in
            for n in Self.sizes {
                let x = Self.random(n, seed: UInt64(n + 1))
                let expected = x.reduce(0.0) { $0 + Double($1) }
                #expect(abs(Double(shears_sum(x, n)) - expected) <= 1e-5 * Double(max(n, 1)), "\(isa) sum n=\(n)")
            }
        }
    }

    @Test func rmsNorm() {
        Self.forEachISA { isa in
            for n in Self.sizes where n > 0 {
                let rows = 3
                let x = Self.random(rows * n, seed: UInt64(n + 2)), w = Self.random(n, seed: UInt64(n + 3))
                var expected: [Double] = []
                for r in 0..<rows {
                    let row = x[r * n..<(r + 1) * n].map(Double.init)
                    let inv = 1 / (row.reduce(0) { $0 + $1 * $1 } / Double(n) + 1e-5).squareRoot()
                    expected += (0..<n).map { row[$0] * inv * Double(w[$0]) }
                }
                var y = [Float](repeating: .nan, count: rows * n)
                shears_rmsnorm(x, w, &y, rows, n, 1e-5)
                Self.expectClose(y, expected, relative: 1e-5, absolute: 1e-6, "\(isa) rmsnorm n=\(n)")
                var inPlace = x
                inPlace.withUnsafeMutableBufferPointer {
                    shears_rmsnorm($0.baseAddress!, w, $0.baseAddress!, rows, n, 1e-5)
                }
                #expect(inPlace == y, "\(isa) rmsnorm in place n=\(n)")
            }
        }
    }

    @Test func rope() {
        Self.forEachISA { isa in
            for half in Self.sizes where half > 0 {
                let headDim = 2 * half, heads = 2, rows = 3, stride = heads * headDim + 5, first = 4
                let positions = first + rows
                let angles = (0..<positions * half).map { Double($0 % 97) * 0.37 }
                let cosines = angles.map { Float(cos($0)) }, sines = angles.map { Float(sin($0)) }
                var x = Self.random(rows * stride, seed: UInt64(half))
                var expected = x.map(Double.init)
                for r in 0..<rows {
                    for h in 0..<heads {
                        for i in 0..<half {
                            let base = r * stride + h * headDim + 2 * i
                            let c = Double(cosines[(first + r) * half + i]), s = Double(sines[(first + r) * half + i])
                            let a = Double(x[base]), b = Double(x[base + 1])
                            expected[base] = a * c - b * s
                            expected[base + 1] = a * s + b * c
                        }
                    }
                }
                shears_rope(&x, rows, stride, heads, headDim, cosines, sines, first)
                Self.expectClose(x, expected, relative: 1e-6, absolute: 1e-6, "\(isa) rope head_dim=\(headDim)")
            }
        }
    }

    @Test func causalSoftmax() {
        Self.forEachISA { isa in
            for width in Self.sizes where width > 0 {
                for group in [1, 3] {
                    let rows = 4 * group, ld = width + 3
                    let first = max(1, width - 3)
                    var scores = Self.random(rows * ld, seed: UInt64(width * 10 + group), scale: 20)
                    var expected = scores.map(Double.init)
                    for r in 0..<rows {
                        let length = min(first + r / group, width)
                        let row = (0..<length).map { Double(scores[r * ld + $0]) }
                        let m = row.max()!
                        let total = row.reduce(0) { $0 + exp($1 - m) }
                        for i in 0..<width { expected[r * ld + i] = i < length ? exp(row[i] - m) / total : 0 }
                    }
                    var unnormalised = scores
                    shears_softmax_causal(&scores, rows, ld, first, width, group, nil)
                    Self.expectClose(
                        scores, expected, relative: 1e-6, absolute: 1e-7, "\(isa) softmax width=\(width) group=\(group)"
                    )
                    var normalisers = [Float](repeating: .nan, count: rows)
                    shears_softmax_causal(&unnormalised, rows, ld, first, width, group, &normalisers)
                    for r in 0..<rows {
                        for i in 0..<width { unnormalised[r * ld + i] *= normalisers[r] }
                    }
                    Self.expectClose(
                        unnormalised, expected, relative: 2e-6, absolute: 1e-7,
                        "\(isa) unnormalised softmax width=\(width) group=\(group)")
                }
            }
        }
    }

    @Test func siluMul() {
        Self.forEachISA { isa in
            for n in Self.sizes {
                var gate = Self.random(n, seed: UInt64(n + 4), scale: 30)
                let up = Self.random(n, seed: UInt64(n + 5))
                let expected = (0..<n).map { Double(gate[$0]) / (1 + exp(-Double(gate[$0]))) * Double(up[$0]) }
                shears_silu_mul(&gate, up, n)
                Self.expectClose(gate, expected, relative: 1e-6, absolute: 1e-30, "\(isa) silu_mul n=\(n)")
            }
        }
    }

    @Test func add() {
        Self.forEachISA { isa in
            for n in Self.sizes {
                var y = Self.random(n, seed: UInt64(n + 6))
                let x = Self.random(n, seed: UInt64(n + 7))
                let expected = (0..<n).map { Double(y[$0] + x[$0]) }
                shears_add(&y, x, n)
                Self.expectClose(y, expected, relative: 0, "\(isa) add n=\(n)")
            }
        }
    }

    @Test func crossEntropy() {
        Self.forEachISA { isa in
            for n in Self.sizes where n > 0 {
                let rows = 5, ld = n + 2
                let logits = Self.random(rows * ld, seed: UInt64(n + 8), scale: 15)
                let targets = (0..<rows).map { Int32(($0 * 7919) % n) }
                let expected = (0..<rows).map { r -> Double in
                    let row = (0..<n).map { Double(logits[r * ld + $0]) }
                    let m = row.max()!
                    return m + log(row.reduce(0) { $0 + exp($1 - m) }) - row[Int(targets[r])]
                }
                var nll = [Float](repeating: .nan, count: rows)
                shears_cross_entropy(logits, rows, ld, n, targets, &nll)
                Self.expectClose(nll, expected, relative: 1e-6, absolute: 2e-6, "\(isa) cross_entropy n=\(n)")
            }
        }
    }
}
