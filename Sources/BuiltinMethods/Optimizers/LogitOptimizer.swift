/// A first-order optimiser of one flat parameter vector (BESA's logits of one block).
package protocol LogitOptimizer {
    /// One step on `x` with gradient `gradient` (same count as at creation).
    mutating func step(_ x: inout [Float], gradient: [Float])
}
