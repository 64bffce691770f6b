import Foundation

/// Small SVG charts with no script and no external resource, for the HTML report.
///
/// Every chart is an `<svg class="chart">` with a title, axes with labelled ticks and a legend;
/// values that are nil are left out (a gap), never drawn as zero.
package enum SVGChart {
    /// One named series of values, one per category (nil: no value there).
    package struct Series {
        /// The legend label.
        package var name: String
        /// The values, aligned with the chart's categories.
        package var values: [Double?]

        package init(name: String, values: [Double?]) {
            self.name = name
            self.values = values
        }
    }

    /// The colours of successive series (colour-blind-safe palette).
    static let palette = ["#4477aa", "#ee6677", "#228833", "#ccbb44", "#66ccee", "#aa3377", "#bbbbbb", "#222255"]

    static let width = 760.0, height = 260.0
    static let left = 58.0, right = 16.0, top = 30.0, bottom = 46.0

    /// Grouped vertical bars: one group per category, one bar per series; `lines` are drawn over
    /// the bars as markers joined by a line (e.g. each run's target).
    package static func bars(
        title: String, categories: [String], series: [Series], lines: [Series] = [], yLabel: String,
        yMax fixedMax: Double? = nil
    ) -> String {
        let all = (series + lines).flatMap { $0.values.compactMap { $0 } }
        let yMax = fixedMax ?? niceCeiling(all.max() ?? 1)
        var body = axes(yMax: yMax, yLabel: yLabel, categories: categories)
        let plotWidth = width - left - right
        let slot = plotWidth / Double(max(categories.count, 1))
        let barWidth = max(1, slot * 0.8 / Double(max(series.count, 1)))
        for (s, line) in series.enumerated() {
            for (c, value) in line.values.enumerated() {
                guard let value, c < categories.count else { continue }
                let x = left + slot * Double(c) + slot * 0.1 + barWidth * Double(s)
                let y = yPosition(value, yMax)
                body += rect(
                    x, y, barWidth, height - bottom - y, color(s),
                    tooltip: "\(line.name), \(categories[c]): \(format(value))")
            }
        }
        for (s, line) in lines.enumerated() {
            let points = line.values.enumerated().compactMap { c, value in
                value.map { (left + slot * (Double(c) + 0.5), yPosition($0, yMax)) }
            }
            body += polyline(points, color(series.count + s), dashed: true)
        }
        return svg(title: title, body: body, legend: series.map(\.name) + lines.map(\.name))
    }

    /// Lines with markers, one per series, over the categories.
    package static func lines(title: String, categories: [String], series: [Series], yLabel: String) -> String {
        let all = series.flatMap { $0.values.compactMap { $0 } }
        let yMax = niceCeiling(all.max() ?? 1)
        var body = axes(yMax: yMax, yLabel: yLabel, categories: categories)
        let slot = (width - left - right) / Double(max(categories.count, 1))
        for (s, line) in series.enumerated() {
            let points = line.values.enumerated().compactMap { c, value in
                value.map { (left + slot * (Double(c) + 0.5), yPosition($0, yMax)) }
            }
            body += polyline(points, color(s), dashed: false)
        }
        return svg(title: title, body: body, legend: series.map(\.name))
    }

    /// Horizontal stacked bars: one bar per row, one segment per part (e.g. seconds per phase).
    package static func stacked(title: String, rows: [String], parts: [Series], xLabel: String) -> String {
        let totals = rows.indices.map { r in parts.reduce(0) { $0 + ($1.values[r] ?? 0) } }
        let xMax = niceCeiling(totals.max() ?? 1)
        let labelWidth = 150.0
        let rowHeight = 26.0
        let chartHeight = top + rowHeight * Double(rows.count) + bottom
        let plotWidth = width - labelWidth - right
        var body = ""
        for tick in ticks(xMax) {
            let x = labelWidth + plotWidth * tick / xMax
            body +=
                "<line x1=\"\(f(x))\" y1=\"\(f(top))\" x2=\"\(f(x))\" y2=\"\(f(chartHeight - bottom))\" stroke=\"#ddd\"/>"
            body += text(x, chartHeight - bottom + 16, format(tick), anchor: "middle")
        }
        body += text(labelWidth + plotWidth / 2, chartHeight - 8, xLabel, anchor: "middle")
        for (r, row) in rows.enumerated() {
            let y = top + rowHeight * Double(r) + 4
            body += text(labelWidth - 6, y + 13, row, anchor: "end")
            var x = labelWidth
            for (p, part) in parts.enumerated() {
                guard let value = part.values[r], value > 0 else { continue }
                let w = plotWidth * value / xMax
                body += rect(x, y, w, rowHeight - 8, color(p), tooltip: "\(row), \(part.name): \(format(value))")
                x += w
            }
        }
        return svg(title: title, body: body, legend: parts.map(\.name), height: chartHeight)
    }

    /// A heat map: rows × columns of values in [0, vMax] (by default the largest value), lighter
    /// to darker, nil cells grey.
    package static func heatmap(
        title: String, rows: [String], columns: [String], values: [[Double?]], valueLabel: String,
        vMax fixedMax: Double? = nil
    ) -> String {
        let vMax = fixedMax ?? max(values.flatMap { $0.compactMap { $0 } }.max() ?? 1, 1e-12)
        let labelWidth = 110.0
        let cellHeight = 18.0
        let chartHeight = top + cellHeight * Double(rows.count) + bottom
        let cellWidth = (width - labelWidth - right) / Double(max(columns.count, 1))
        var body = ""
        for (r, row) in rows.enumerated() {
            let y = top + cellHeight * Double(r)
            body += text(labelWidth - 6, y + 13, row, anchor: "end")
            for (c, column) in columns.enumerated() {
                let x = labelWidth + cellWidth * Double(c)
                let value = r < values.count && c < values[r].count ? values[r][c] : nil
                let fill = value.map { shade($0 / vMax) } ?? "#eeeeee"
                body += rect(
                    x, y, max(cellWidth - 1, 1), cellHeight - 1, fill,
                    tooltip: "\(row), \(column): \(value.map(format) ?? "none")")
            }
        }
        let step = max(1, columns.count / 16)
        for c in stride(from: 0, to: columns.count, by: step) {
            body += text(
                labelWidth + cellWidth * (Double(c) + 0.5), chartHeight - bottom + 14, columns[c], anchor: "middle")
        }
        body += text(
            labelWidth, chartHeight - 8, "\(valueLabel): white 0, dark \(format(vMax))", anchor: "start")
        return svg(title: title, body: body, legend: [], height: chartHeight)
    }

    // MARK: Pieces

    private static func svg(title: String, body: String, legend: [String], height: Double = height) -> String {
        var legendItems = ""
        var x = left
        for (i, name) in legend.enumerated() {
            legendItems += rect(x, 8, 10, 10, color(i), tooltip: name)
            legendItems += text(x + 14, 17, name, anchor: "start")
            x += 24 + 7 * Double(name.count)
        }
        return """
            <figure><figcaption>\(escape(title))</figcaption><svg class="chart" role="img" aria-label="\(escape(title))" \
            xmlns="http://www.w3.org/2000/svg" width="\(f(width))" height="\(f(height))" viewBox="0 0 \(f(width)) \(f(height))">\
            \(legendItems)\(body)</svg></figure>
            """
    }

    private static func axes(yMax: Double, yLabel: String, categories: [String]) -> String {
        var out = ""
        for tick in ticks(yMax) {
            let y = yPosition(tick, yMax)
            out += "<line x1=\"\(f(left))\" y1=\"\(f(y))\" x2=\"\(f(width - right))\" y2=\"\(f(y))\" stroke=\"#ddd\"/>"
            out += text(left - 6, y + 4, format(tick), anchor: "end")
        }
        out +=
            "<line x1=\"\(f(left))\" y1=\"\(f(height - bottom))\" x2=\"\(f(width - right))\" y2=\"\(f(height - bottom))\" stroke=\"#888\"/>"
        let slot = (width - left - right) / Double(max(categories.count, 1))
        let step = max(1, categories.count / 20)
        for c in stride(from: 0, to: categories.count, by: step) {
            out += text(left + slot * (Double(c) + 0.5), height - bottom + 14, categories[c], anchor: "middle")
        }
        out +=
            "<text x=\"14\" y=\"\(f((top + height - bottom) / 2))\" transform=\"rotate(-90 14 \(f((top + height - bottom) / 2)))\" text-anchor=\"middle\">\(escape(yLabel))</text>"
        return out
    }

    private static func yPosition(_ value: Double, _ yMax: Double) -> Double {
        height - bottom - (height - top - bottom) * min(max(value / yMax, 0), 1)
    }

    private static func rect(
        _ x: Double, _ y: Double, _ w: Double, _ h: Double, _ fill: String, tooltip: String
    ) -> String {
        "<rect x=\"\(f(x))\" y=\"\(f(y))\" width=\"\(f(max(w, 0)))\" height=\"\(f(max(h, 0)))\" fill=\"\(fill)\"><title>\(escape(tooltip))</title></rect>"
    }

    private static func polyline(_ points: [(Double, Double)], _ color: String, dashed: Bool) -> String {
        guard !points.isEmpty else { return "" }
        let list = points.map { "\(f($0.0)),\(f($0.1))" }.joined(separator: " ")
        var out =
            "<polyline points=\"\(list)\" fill=\"none\" stroke=\"\(color)\" stroke-width=\"2\"\(dashed ? " stroke-dasharray=\"5 3\"" : "")/>"
        for point in points { out += "<circle cx=\"\(f(point.0))\" cy=\"\(f(point.1))\" r=\"2.5\" fill=\"\(color)\"/>" }
        return out
    }

    private static func text(_ x: Double, _ y: Double, _ content: String, anchor: String) -> String {
        "<text x=\"\(f(x))\" y=\"\(f(y))\" text-anchor=\"\(anchor)\">\(escape(content))</text>"
    }

    private static func color(_ index: Int) -> String { palette[index % palette.count] }

    /// White (0) to dark blue (1).
    private static func shade(_ fraction: Double) -> String {
        let t = min(max(fraction, 0), 1)
        let (r, g, b) = (255 - 221 * t, 255 - 170 * t, 255 - 102 * t)
        return String(format: "#%02x%02x%02x", Int(r), Int(g), Int(b))
    }

    /// 1, 2 or 5 times a power of ten at or above `value`.
    static func niceCeiling(_ value: Double) -> Double {
        guard value > 0, value.isFinite else { return 1 }
        let power = pow(10, floor(log10(value)))
        for factor in [1.0, 2, 5, 10] where factor * power >= value * (1 - 1e-12) { return factor * power }
        return 10 * power
    }

    private static func ticks(_ maximum: Double) -> [Double] { (0...4).map { maximum * Double($0) / 4 } }

    private static func f(_ value: Double) -> String { String(format: "%.1f", value) }

    /// A value with 4 significant digits.
    static func format(_ value: Double) -> String { String(format: "%.4g", value) }

    /// `text` safe inside HTML/SVG text and attributes.
    package static func escape(_ text: String) -> String {
        var out = ""
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(character)
            }
        }
        return out
    }
}
