import Foundation

/// One self-contained HTML page comparing prune runs: a summary table and inline SVG charts
/// (no script from elsewhere, no font, no network).
package enum ReportPage {
    /// A run to show: its label (usually the report's file name) and report.
    package typealias Run = (name: String, report: RunReport)

    /// The chart identifiers a page for `runs` holds, in order (the page marks each chart with its
    /// identifier, and its check script counts the ones that rendered).
    package static func charts(for runs: [Run]) -> [String] { sections(runs).map(\.id) }

    /// The page for `runs`.
    package static func html(_ runs: [Run]) -> String {
        let sections = sections(runs)
        let body = sections.map { "<section id=\"\($0.id)\" class=\"chart-section\">\($0.html)</section>" }
            .joined(separator: "\n")
        return """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>Shears report: \(SVGChart.escape(runs.map(\.name).joined(separator: ", ")))</title>
            <style>
            body { font: 14px/1.4 system-ui, sans-serif; margin: 24px auto; max-width: 960px; color: #222; }
            table { border-collapse: collapse; margin: 8px 0 20px; } td, th { border-bottom: 1px solid #ddd; padding: 4px 10px; text-align: right; }
            th:first-child, td:first-child { text-align: left; } code { font-size: 12px; }
            figure { margin: 12px 0 24px; } figcaption { font-weight: 600; margin-bottom: 4px; }
            svg.chart text { font: 11px system-ui, sans-serif; fill: #333; }
            .note { color: #666; font-size: 12px; }
            </style></head><body>
            <h1>Shears report</h1>
            \(summary(runs))
            \(body)
            <p class="note">Written by Shears \(SVGChart.escape(runs.first?.report.shearsVersion ?? "")). \
            Schema \(RunReport.schema) version \(RunReport.version); every figure comes from the JSON reports named above.</p>
            <script>
            // Marks how many charts rendered with a non-empty box (the page's own check).
            (function () {
              var rendered = 0, charts = document.querySelectorAll("svg.chart");
              charts.forEach(function (svg) {
                var box = svg.getBBox();
                if (box.width > 0 && box.height > 0) { rendered += 1; } else { console.error("empty chart: " + svg.getAttribute("aria-label")); }
              });
              document.body.setAttribute("data-charts", String(charts.length));
              document.body.setAttribute("data-charts-rendered", String(rendered));
            })();
            </script>
            </body></html>

            """
    }

    // MARK: Sections

    private struct Section {
        var id: String
        var html: String
    }

    private static func sections(_ runs: [Run]) -> [Section] {
        var sections: [Section] = []
        let names = runs.map(\.name)
        let sparse = runs.filter { !$0.report.layers.isEmpty }
        if !sparse.isEmpty {
            let depth = sparse.map { ($0.report.layers.map(\.index).max() ?? 0) + 1 }.max() ?? 0
            let categories = (0..<depth).map(String.init)
            func perLayer(_ run: Run, _ value: (RunReport.Layer) -> Double?) -> [Double?] {
                var values = [Double?](repeating: nil, count: depth)
                for layer in run.report.layers { values[layer.index] = value(layer) }
                return values
            }
            sections.append(
                Section(
                    id: "sparsity-per-layer",
                    html: SVGChart.bars(
                        title: "Sparsity reached per layer (bars) and each run's target (dashed)",
                        categories: categories,
                        series: sparse.map { .init(name: $0.name, values: perLayer($0) { $0.sparsity }) },
                        lines: sparse.map { .init(name: "\($0.name) target", values: perLayer($0) { $0.target }) },
                        yLabel: "sparsity", yMax: 1)))
            let withError = sparse.filter { run in run.report.layers.contains { $0.error != nil } }
            if !withError.isEmpty {
                sections.append(
                    Section(
                        id: "error-per-layer",
                        html: SVGChart.lines(
                            title: "Relative reconstruction error of each layer's output on the calibration set",
                            categories: categories,
                            series: withError.map { .init(name: $0.name, values: perLayer($0) { $0.error }) },
                            yLabel: "‖Y − Ŷ‖² / ‖Y‖²")))
            }
            for (number, run) in sparse.enumerated() {
                let kinds = matrixKinds(run.report)
                let values = run.report.layers.map { layer in
                    kinds.map { kind in layer.matrices.first { matrixKind($0.name) == kind }?.sparsity }
                }
                sections.append(
                    Section(
                        id: "matrix-sparsity-\(number + 1)",
                        html: SVGChart.heatmap(
                            title: "\(run.name): sparsity of each matrix (rows: layers)",
                            rows: run.report.layers.map { "layer \($0.index)" }, columns: kinds, values: values,
                            valueLabel: "sparsity", vMax: 1)))
            }
        }
        let reshaped = runs.filter { $0.report.input.layers != $0.report.output.layers }
        if !reshaped.isEmpty {
            let depth = reshaped.map { $0.report.input.layers.count }.max() ?? 0
            let categories = (0..<depth).map(String.init)
            func kept(_ run: Run, _ width: (RunReport.LayerShape) -> Int) -> [Double?] {
                let input = run.report.input.layers
                let removed = Set(run.report.modelSteps.flatMap(\.removedBlocks))
                var output = run.report.output.layers.makeIterator()
                // Output layers follow the input layers that were not removed, in order.
                return (0..<depth).map { layer -> Double? in
                    guard layer < input.count else { return nil }
                    if removed.contains(layer) { return 0 }
                    guard let shape = output.next() else { return nil }
                    let full = width(input[layer])
                    return full > 0 ? Double(width(shape)) / Double(full) : nil
                }
            }
            sections.append(
                Section(
                    id: "heads-per-layer",
                    html: SVGChart.bars(
                        title: "Query heads kept per layer (fraction of the input's; 0: block or attention removed)",
                        categories: categories,
                        series: reshaped.map { .init(name: $0.name, values: kept($0) { $0.heads }) },
                        yLabel: "heads kept", yMax: 1)))
            sections.append(
                Section(
                    id: "ffn-per-layer",
                    html: SVGChart.bars(
                        title: "FFN channels kept per layer (fraction of the input's; 0: block or FFN removed)",
                        categories: categories,
                        series: reshaped.map { .init(name: $0.name, values: kept($0) { $0.ffn }) },
                        yLabel: "FFN kept", yMax: 1)))
        }
        let evaluationNames = orderedUnique(runs.flatMap { $0.report.evaluations.map(\.name) })
        let figures: [(id: String, title: String, label: String, value: (RunReport.Evaluation) -> Double?)] = [
            ("perplexity", "Perplexity of each run's output (lower is better)", "perplexity", \.perplexity),
            ("kld", "Mean KL divergence from the base model (lower is better)", "KLD (nats)", \.kldMean),
        ]
        for figure in figures {
            let names = evaluationNames.filter { name in
                runs.contains { $0.report.evaluations.contains { $0.name == name && figure.value($0) != nil } }
            }
            guard !names.isEmpty else { continue }
            let series = runs.map { run in
                SVGChart.Series(
                    name: run.name,
                    values: names.map { name in run.report.evaluations.last { $0.name == name }.flatMap(figure.value) })
            }
            sections.append(
                Section(
                    id: figure.id,
                    html: SVGChart.bars(title: figure.title, categories: names, series: series, yLabel: figure.label)))
        }
        let phases = orderedUnique(runs.flatMap { $0.report.phases.map(\.name) })
        sections.append(
            Section(
                id: "time",
                html: SVGChart.stacked(
                    title: "Time per phase", rows: names,
                    parts: phases.map { phase in
                        .init(
                            name: phase,
                            values: runs.map { run in run.report.phases.first { $0.name == phase }?.seconds })
                    }, xLabel: "seconds")))
        return sections
    }

    private static func summary(_ runs: [Run]) -> String {
        var rows = ""
        for run in runs {
            let report = run.report
            let evaluations = report.evaluations.map { evaluation in
                var parts: [String] = []
                if let ppl = evaluation.perplexity { parts.append("ppl \(SVGChart.format(ppl))") }
                if let kld = evaluation.kldMean { parts.append("KLD \(SVGChart.format(kld))") }
                if let same = evaluation.sameTop { parts.append(String(format: "same top %.1f%%", 100 * same)) }
                return "\(evaluation.name): " + parts.joined(separator: ", ")
            }
            let removed = report.modelSteps.flatMap(\.removedBlocks)
            rows += "<tr><td>\(SVGChart.escape(run.name))</td>"
            rows += "<td><code>\(SVGChart.escape(report.steps.joined(separator: " + ")))</code></td>"
            rows += String(format: "<td>%.4f</td>", report.sparsity)
            rows += "<td>\(report.input.parameters) → \(report.output.parameters)</td>"
            rows += "<td>\(megabytes(report.input.bytes)) → \(megabytes(report.output.bytes))</td>"
            rows += "<td>\(SVGChart.escape(report.output.architecture))</td>"
            rows += String(format: "<td>%.1f</td><td>%.0f</td>", report.seconds, Double(report.peakResidentBytes) / 1e6)
            rows += "<td>\(removed.isEmpty ? "" : removed.map(String.init).joined(separator: ", "))</td>"
            rows += "<td>\(SVGChart.escape(evaluations.joined(separator: "; ")))</td></tr>\n"
        }
        let details = runs.map { run in
            let r = run.report
            return "<li><b>\(SVGChart.escape(run.name))</b>: <code>\(SVGChart.escape(r.command))</code>; input "
                + "<code>\(SVGChart.escape(r.input.path ?? "?"))</code> (sha256 \(r.input.sha256?.prefix(12) ?? "?")…), "
                + "output <code>\(SVGChart.escape(r.output.path ?? "not written"))</code>; calibration "
                + (r.calibration.map {
                    "\(SVGChart.escape($0.source)), \($0.windows) windows, \($0.tokens) tokens (sha256 \($0.sha256.prefix(12))…)"
                } ?? "none") + "; \(SVGChart.escape(r.created))</li>"
        }.joined(separator: "\n")
        return """
            <table><tr><th>run</th><th>steps</th><th>linear sparsity</th><th>parameters</th><th>file MB</th>\
            <th>architecture</th><th>seconds</th><th>peak MB</th><th>removed blocks</th><th>evaluations</th></tr>
            \(rows)</table>
            <ul class="note">\(details)</ul>
            """
    }

    // MARK: Helpers

    private static func megabytes(_ bytes: Int?) -> String {
        bytes.map { String(format: "%.1f", Double($0) / 1e6) } ?? "–"
    }

    /// `blk.3.attn_q.weight` → `attn_q`.
    private static func matrixKind(_ name: String) -> String {
        let parts = name.split(separator: ".")
        return parts.count >= 3 && parts[0] == "blk" ? String(parts[2]) : name
    }

    private static func matrixKinds(_ report: RunReport) -> [String] {
        orderedUnique(report.layers.flatMap { $0.matrices.map { matrixKind($0.name) } })
    }

    private static func orderedUnique(_ values: [String]) -> [String] {
        var seen = Set<String>()
        return values.filter { seen.insert($0).inserted }
    }
}
