import Foundation
import Reports
import Testing

/// The HTML page: which charts a set of runs gets, that it is self-contained and escapes what it
/// shows.
@Suite("HTML report page")
struct ReportPageTests {
    @Test("two runs get every chart, each once, and the page loads nothing from elsewhere")
    func charts() {
        let a = RunReportTests.sample(name: "wanda", sparsity: 0.5, ppl: 44.9)
        var b = RunReportTests.sample(name: "sparsegpt", sparsity: 0.6, ppl: 37.9)
        b.output.layers = b.input.layers
        let runs: [ReportPage.Run] = [("a.json", a), ("b <x>.json", b)]
        #expect(
            ReportPage.charts(for: runs) == [
                "sparsity-per-layer", "error-per-layer", "matrix-sparsity-1", "matrix-sparsity-2", "heads-per-layer",
                "ffn-per-layer", "perplexity", "kld", "time",
            ])
        let html = ReportPage.html(runs)
        #expect(html.components(separatedBy: "<svg class=\"chart\"").count - 1 == 9)
        #expect(!html.contains("src=\"http") && !html.contains("href=\"http") && !html.contains("@import"))
        #expect(html.contains("b &lt;x&gt;.json") && !html.contains("b <x>.json"))
        // The removed FFN channels of layer 2 show as a kept fraction of 0.75 in run a only.
        #expect(html.contains("a.json, 2: 0.75"))
    }

    @Test("a run with structured steps only has no sparsity charts; nil values leave gaps, not zeros")
    func structuredOnly() {
        var run = RunReportTests.sample()
        run.layers = []
        run.evaluations = []
        #expect(ReportPage.charts(for: [("s.json", run)]) == ["heads-per-layer", "ffn-per-layer", "time"])
        let bars = SVGChart.bars(
            title: "t", categories: ["0", "1", "2"], series: [.init(name: "s", values: [0.5, nil, 0.25])], yLabel: "y")
        #expect(bars.components(separatedBy: "<rect").count - 1 == 2 + 1) // two bars and the legend swatch
    }
}
