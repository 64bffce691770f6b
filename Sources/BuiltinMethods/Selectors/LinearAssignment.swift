import PruningEngine

/// The linear sum assignment problem (what `scipy.optimize.linear_sum_assignment` solves), by the
/// O(n³) Hungarian method with potentials and shortest augmenting paths (Kuhn–Munkres in the
/// Jonker–Volgenant formulation), in Double.
public enum LinearAssignment {
    /// The assignment of rows to columns of the square `size × size` matrix `values` (row-major)
    /// that maximises the total value: `result[row]` is the row's column. Among optimal
    /// assignments the solver's order decides.
    ///
    /// - Throws: `PruneError` if `values` does not hold `size²` finite numbers.
    public static func maximize(_ values: [Double], size: Int) throws(PruneError) -> [Int] {
        guard size >= 0, values.count == size * size else {
            throw PruneError("linear assignment: \(values.count) values do not form a \(size) × \(size) matrix")
        }
        guard let largest = values.max() else { return [] }
        guard largest.isFinite, values.allSatisfy(\.isFinite) else {
            throw PruneError("linear assignment: the value matrix holds a non-finite number")
        }
        // Minimise the non-negative costs largest − value.
        return minimize(values.map { largest - $0 }, size: size)
    }

    /// The minimum-cost assignment of finite `costs` (`size × size`, row-major, size ≥ 1).
    private static func minimize(_ costs: [Double], size n: Int) -> [Int] {
        // 1-based potentials u (rows), v (columns); owner[j] is the row matched to column j (0: none).
        var u = [Double](repeating: 0, count: n + 1), v = u, slack = u
        var owner = [Int](repeating: 0, count: n + 1), previous = owner
        var visited = [Bool](repeating: false, count: n + 1)
        costs.withUnsafeBufferPointer { cost in
            for row in 1...n {
                owner[0] = row
                var column = 0
                for j in 0...n {
                    slack[j] = .infinity
                    visited[j] = false
                }
                // Grow a shortest-path tree from `row` until it reaches a free column.
                repeat {
                    visited[column] = true
                    let current = owner[column], base = (current - 1) * n - 1
                    var delta = Double.infinity, next = 0
                    for j in 1...n where !visited[j] {
                        let reduced = cost[base + j] - u[current] - v[j]
                        if reduced < slack[j] {
                            slack[j] = reduced
                            previous[j] = column
                        }
                        if slack[j] < delta {
                            delta = slack[j]
                            next = j
                        }
                    }
                    for j in 0...n {
                        if visited[j] {
                            u[owner[j]] += delta
                            v[j] -= delta
                        } else {
                            slack[j] -= delta
                        }
                    }
                    column = next
                } while owner[column] != 0
                // Flip the augmenting path.
                repeat {
                    let back = previous[column]
                    owner[column] = owner[back]
                    column = back
                } while column != 0
            }
        }
        var assignment = [Int](repeating: 0, count: n)
        for j in 1...n { assignment[owner[j] - 1] = j - 1 }
        return assignment
    }
}
