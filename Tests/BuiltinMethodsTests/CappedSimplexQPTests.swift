import BuiltinMethods
import Testing

/// SCOP's local program `min uᵀAu` over `0 ≤ u ≤ 1`, `Σu = k` per group, against closed forms.
@Suite struct CappedSimplexQPTests {
    @Test("the projection onto {0 ≤ u ≤ 1, Σu = k} clips after one common shift")
    func projection() {
        var v: [Float] = [0.9, 0.9, -1, 3]
        CappedSimplexQP.project(&v, 0..<3, count: 1)
        #expect(zip(v, [0.5, 0.5, 0, 3] as [Float]).allSatisfy { abs($0 - $1) < 1e-5 }, "\(v)")
        CappedSimplexQP.project(&v, 0..<4, count: 3)
        #expect(abs(v.reduce(0, +) - 3) < 1e-4 && v.allSatisfy { (0...1).contains($0) }, "\(v)")
    }

    @Test("a diagonal A gives u ∝ 1/a (Lagrange), capped at 1; groups are solved apart")
    func diagonal() {
        // diag(1, 2, 4), k = 1: u = (4, 2, 1)/7.
        let program = CappedSimplexQP(matrix: [1, 0, 0, 0, 2, 0, 0, 0, 4], size: 3)
        let u = program.solve(groups: [(0..<3, 1)], iterations: 500)
        #expect(zip(u, [4.0 / 7, 2.0 / 7, 1.0 / 7]).allSatisfy { abs($0 - $1) < 1e-3 }, "\(u)")
        // diag(1, 100, 1, 100) in two groups of two, one unit each: the cheap unit of each group goes.
        let grouped = CappedSimplexQP(
            matrix: [1, 0, 0, 0, 0, 100, 0, 0, 0, 0, 1, 0, 0, 0, 0, 100], size: 4)
        let shares = grouped.solve(groups: [(0..<2, 1), (2..<4, 1)], iterations: 500)
        #expect(abs(shares[0] + shares[1] - 1) < 1e-3 && abs(shares[2] + shares[3] - 1) < 1e-3, "\(shares)")
        #expect(shares[0] > 0.98 && shares[2] > 0.98, "\(shares)")
    }

    @Test("a coupling term moves the shares to the units that cancel each other")
    func coupling() {
        // A = [[1, -0.9], [-0.9, 1]] beside an independent unit of 0.5, k = 2: by symmetry u = (a, a,
        // 2 − 2a) and uᵀAu = 0.2a² + 2(1 − a)², least at a = 10/11 (the diagonal alone would give
        // the independent unit its whole share: u = (0.5, 0.5, 1)).
        let program = CappedSimplexQP(matrix: [1, -0.9, 0, -0.9, 1, 0, 0, 0, 0.5], size: 3)
        let u = program.solve(groups: [(0..<3, 2)], iterations: 1000)
        #expect(zip(u, [10.0 / 11, 10.0 / 11, 2.0 / 11]).allSatisfy { abs($0 - $1) < 1e-3 }, "\(u)")
    }
}
