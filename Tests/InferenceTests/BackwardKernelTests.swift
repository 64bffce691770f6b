import Foundation
import Inference
import Kernels
import TestSupport
import Testing

/// Every reverse-pass kernel against a scalar Double reference, for every ISA variant this CPU
/// runs, over sizes that hit each vector tail; and the Swift ops that split them over threads
/// give the same bits as one call over everything.
@Suite struct BackwardKernelTests {
    typealias K = ForwardKernelTests

    /// σ(x) in Double.
    static func sigmoid(_ x: Double) -> Double { 1 / (1 + exp(-x)) }

    @Test func swiGLUBackward() {
        K.forEachISA { isa in
            for n in K.sizes {
                let gate = K.random(n, seed: UInt64(n + 10), scale: 12), up = K.random(n, seed: UInt64(n + 11))
                let dz = K.random(n, seed: UInt64(n + 12))
                var dGate = dz, dUp = [Float](repeating: .nan, count: n)
                shears_swiglu_backward(gate, up, &dGate, &dUp, n)
                let s = gate.map { Self.sigmoid(Double($0)) }
                K.expectClose(
                    dUp, (0..<n).map { Double(dz[$0]) * Double(gate[$0]) * s[$0] }, relative: 1e-5, absolute: 1e-6,
                    "\(isa) swiglu up n=\(n)")
                let expectedGate = (0..<n).map { i -> Double in
                    let g = Double(gate[i]), derivative: Double = s[i] * (1 + g * (1 - s[i]))
                    return Double(dz[i]) * Double(up[i]) * derivative
                }
                K.expectClose(dGate, expectedGate, relative: 1e-5, absolute: 1e-6, "\(isa) swiglu gate n=\(n)")
            }
        }
    }

    @Test func rmsNormBackward() {
        K.forEachISA { isa in
            for n in K.sizes where n > 0 {
                let rows = 3
                let x = K.random(rows * n, seed: UInt64(n + 20)), w = K.random(n, seed: UInt64(n + 21))
                let dy = K.random(rows * n, seed: UInt64(n + 22)), start = K.random(rows * n, seed: UInt64(n + 23))
                var expected: [Double] = [], expectedWeight = [Double](repeating: 0.5, count: n)
                for r in 0..<rows {
                    let xr = x[r * n..<(r + 1) * n].map(Double.init), g = dy[r * n..<(r + 1) * n].map(Double.init)
                    let inv = 1 / (xr.reduce(0) { $0 + $1 * $1 } / Double(n) + 1e-5).squareRoot()
                    let mean = (0..<n).reduce(0.0) { $0 + g[$1] * Double(w[$1]) * xr[$1] } / Double(n)
                    expected += (0..<n).map {
                        Double(start[r * n + $0]) + inv * (g[$0] * Double(w[$0]) - xr[$0] * inv * inv * mean)
                    }
                    for i in 0..<n { expectedWeight[i] += g[i] * xr[i] * inv }
                }
                var dx = start, inverse = [Float](repeating: .nan, count: rows)
                shears_rmsnorm_backward(x, w, dy, &dx, rows, n, 1e-5, &inverse)
                K.expectClose(dx, expected, relative: 1e-4, absolute: 1e-5, "\(isa) rmsnorm backward n=\(n)")
                var dw = [Float](repeating: 0.5, count: n)
                shears_rmsnorm_weight_gradient(x, dy, inverse, rows, n, 0, n / 2, &dw)
                shears_rmsnorm_weight_gradient(x, dy, inverse, rows, n, n / 2, n - n / 2, &dw)
                K.expectClose(dw, expectedWeight, relative: 1e-4, absolute: 1e-5, "\(isa) rmsnorm weight n=\(n)")
            }
        }
    }

    @Test func causalSoftmaxBackward() {
        K.forEachISA { isa in
            for width in [1, 7, 17, 40] {
                let rows = min(width, 5), first = width - rows + 1, ld = width + 3, d = 9, stride = 2 * d
                let p = K.random(rows * ld, seed: UInt64(width + 30), scale: 1)
                let dp = K.random(rows * ld, seed: UInt64(width + 31))
                let out = K.random(rows * stride, seed: UInt64(width + 32))
                let dOut = K.random(rows * stride, seed: UInt64(width + 33))
                var actual = dp
                shears_softmax_causal_backward(p, &actual, rows, ld, first, width, out, dOut, stride, d)
                var expected = dp.map(Double.init)
                for r in 0..<rows {
                    let delta = (0..<d).reduce(0.0) {
                        $0 + Double(out[r * stride + $1]) * Double(dOut[r * stride + $1])
                    }
                    for c in 0..<width {
                        expected[r * ld + c] =
                            c < first + r ? Double(p[r * ld + c]) * (Double(dp[r * ld + c]) - delta) : 0
                    }
                }
                K.expectClose(
                    actual, expected, relative: 1e-5, absolute: 1e-6, "\(isa) softmax backward width=\(width)")
            }
        }
    }

    @Test func crossEntropyGradient() {
        K.forEachISA { isa in
            for n in K.sizes where n > 0 {
                let rows = 3, ld = n + 5, scale: Float = 0.25
                let logits = K.random(rows * ld, seed: UInt64(n + 40), scale: 30)
                let targets = (0..<rows).map { Int32(($0 * 7 + 3) % n) }
                var actual = logits, nll = [Float](repeating: .nan, count: rows)
                shears_cross_entropy_gradient(&actual, rows, ld, n, targets, scale, &nll)
                var expected = logits.map(Double.init), expectedNLL: [Double] = []
                for r in 0..<rows {
                    let row = logits[r * ld..<r * ld + n].map(Double.init)
                    let m = row.max()!, total = row.reduce(0) { $0 + exp($1 - m) }
                    expectedNLL.append(m + log(total) - row[Int(targets[r])])
                    for i in 0..<n {
                        expected[r * ld + i] =
                            Double(scale) * (exp(row[i] - m) / total - (i == Int(targets[r]) ? 1 : 0))
                    }
                }
                K.expectClose(nll, expectedNLL, relative: 1e-5, absolute: 1e-5, "\(isa) cross-entropy loss n=\(n)")
                K.expectClose(actual, expected, relative: 1e-5, absolute: 1e-8, "\(isa) cross-entropy gradient n=\(n)")
            }
        }
    }

    @Test("the threaded ops give the bits of one kernel call over everything")
    func slicesMatchOneCall() {
        let rows = 300, n = 576, count = rows * n
        let gate = K.random(count, seed: 50, scale: 8), up = K.random(count, seed: 51)
        let dz = K.random(count, seed: 52), w = K.random(n, seed: 53)
        var dGate = dz, dUp = [Float](repeating: 0, count: count)
        SwiGLUBackward.backward(gate: gate, up: up, gradient: &dGate, upGradient: &dUp, count: count)
        var oneGate = dz, oneUp = [Float](repeating: 0, count: count)
        shears_swiglu_backward(gate, up, &oneGate, &oneUp, count)
        #expect(dGate == oneGate && dUp == oneUp)
        var dx = up, dw = w
        RMSNormBackward.backward(
            x: gate, weight: w, outputGradient: dz, rows: rows, n: n, epsilon: 1e-5, addingInputGradientTo: &dx,
            addingWeightGradientTo: &dw)
        var oneDx = up, oneDw = w, inverse = [Float](repeating: 0, count: rows)
        shears_rmsnorm_backward(gate, w, dz, &oneDx, rows, n, 1e-5, &inverse)
        shears_rmsnorm_weight_gradient(gate, dz, inverse, rows, n, 0, n, &oneDw)
        #expect(dx == oneDx && dw == oneDw)
    }
}
