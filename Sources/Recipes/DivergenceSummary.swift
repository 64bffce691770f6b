import Inference

/// One value of a command's summary: a number, an integer, a string or named numbers.
package enum SummaryValue: Equatable {
    case number(Double)
    case integer(Int)
    case string(String)
    /// Named numbers in a fixed order (percentiles).
    case numbers([(key: String, value: Double)])

    package static func == (lhs: SummaryValue, rhs: SummaryValue) -> Bool {
        switch (lhs, rhs) {
        case (.number(let a), .number(let b)): a == b
        case (.integer(let a), .integer(let b)): a == b
        case (.string(let a), .string(let b)): a == b
        case (.numbers(let a), .numbers(let b)): a.map(\.key) == b.map(\.key) && a.map(\.value) == b.map(\.value)
        default: false
        }
    }
}

/// The figures of a comparison against a base, under the names both `shears eval --base --json`
/// and `m:compare` use (documented in docs/evaluation.md).
package enum DivergenceSummary {
    /// The percentile names: `max`, `99.9`, …, `50` (the median), …, `0.1`, `min`.
    static func percentiles(_ values: [Double], range: ClosedRange<Double>) -> SummaryValue {
        var named: [(key: String, value: Double)] = [("max", range.upperBound)]
        for (level, value) in zip(DivergenceResult.percentileLevels, values) {
            let percent = level * 100
            named.append((percent.rounded() == percent ? String(Int(percent)) : String(percent), value))
        }
        named.append(("min", range.lowerBound))
        return .numbers(named)
    }

    /// The summary fields of `result`.
    package static func fields(_ result: DivergenceResult) -> [(key: String, value: SummaryValue)] {
        [
            ("chunks", .integer(result.chunks)),
            ("seqlen", .integer(result.seqlen)),
            ("positions", .integer(result.positions)),
            ("seconds", .number(result.seconds)),
            ("ppl", .number(result.perplexity.value)),
            ("ppl_stderr", .number(result.perplexity.stderr)),
            ("ppl_base", .number(result.basePerplexity.value)),
            ("ppl_base_stderr", .number(result.basePerplexity.stderr)),
            ("ln_ppl_ratio", .number(result.logPerplexityRatio.value)),
            ("ln_ppl_ratio_stderr", .number(result.logPerplexityRatio.stderr)),
            ("nll_correlation", .number(result.nllCorrelation)),
            ("kld_mean", .number(result.kld.value)),
            ("kld_stderr", .number(result.kld.stderr)),
            ("kld_percentiles", percentiles(result.kldPercentiles, range: result.kldRange)),
            ("same_top", .number(result.sameTop.value)),
            ("same_top_stderr", .number(result.sameTop.stderr)),
            ("delta_p_mean", .number(result.deltaP.value)),
            ("delta_p_stderr", .number(result.deltaP.stderr)),
            ("delta_p_rms", .number(result.deltaPRMS.value)),
            ("delta_p_rms_stderr", .number(result.deltaPRMS.stderr)),
            ("delta_p_percentiles", percentiles(result.deltaPPercentiles, range: result.deltaPRange)),
        ]
    }
}
