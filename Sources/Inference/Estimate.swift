/// A value with its standard error.
public struct Estimate: Sendable, Equatable {
    /// The estimate.
    public var value: Double
    /// Its standard error (0 when there are too few samples to say).
    public var stderr: Double
}

extension Estimate {
    /// The mean of `count` samples given by their sum and sum of squares, with its standard error
    /// (the sample standard deviation over √count); the error is 0 below `minimumCount` samples.
    public static func mean(sum: Double, sumOfSquares: Double, count: Int, minimumCount: Int = 2) -> Estimate {
        guard count >= 1 else { return Estimate(value: 0, stderr: 0) }
        let value = sum / Double(count)
        let variance = sumOfSquares / Double(count) - value * value
        let stderr = variance > 0 && count >= max(minimumCount, 2) ? (variance / Double(count - 1)).squareRoot() : 0
        return Estimate(value: value, stderr: stderr)
    }

    /// The mean of `values` with its standard error (0 for one value).
    public static func mean(of values: [Double]) -> Estimate {
        mean(sum: values.reduce(0, +), sumOfSquares: values.reduce(0) { $0 + $1 * $1 }, count: values.count)
    }

    /// The share `count / total` of 0/1 outcomes with the standard error of their mean (0 when
    /// `total` is 0).
    public static func share(_ count: Int, of total: Int) -> Estimate {
        guard total > 0 else { return Estimate(value: 0, stderr: 0) }
        let p = Double(count) / Double(total)
        return Estimate(value: p, stderr: total > 1 ? (p * (1 - p) / Double(total - 1)).squareRoot() : 0)
    }
}
