import ArgumentParser
import Foundation
import JSON
import Recipes
import Reports

/// `shears report RUN.json [MORE.json ...] --html report.html`: summarise run reports and render
/// them as one self-contained HTML page.
struct Report: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Summarise run reports (from prune --report) and render them as one HTML page.",
        discussion: """
            Prints one line per run. With --html, writes a self-contained page (inline SVG charts, \
            no network): per-layer sparsity against each run's target, kept heads and FFN channels \
            per layer, per-matrix sparsity, reconstruction error per layer, perplexity and KL \
            divergence across runs, and time per phase. --eval attaches the output of \
            `shears eval OUT --json` to the run whose output file OUT is (docs/reports.md).
            """)

    @Argument(help: "Run reports written by `shears prune --report` or `shears.prune{ report = ... }`.")
    var reports: [String]

    @Option(help: "Write the HTML page here.", completion: .file())
    var html: String?

    @Option(
        help: "A `shears eval --json` result to attach to the run whose output it evaluated (repeatable).",
        completion: .file())
    var eval: [String] = []

    func validate() throws {
        guard !reports.isEmpty else { throw ValidationError("give at least one run report") }
        if let html, reports.contains(html) || eval.contains(html) {
            throw ValidationError("--html \(html) is one of the inputs; choose another path")
        }
    }

    func run() throws {
        var runs: [ReportPage.Run] = []
        for path in reports {
            do throws(RunReportError) {
                runs.append((Self.label(path, among: reports), try RunReport(contentsOf: path)))
            } catch {
                throw CommandFailure.badInput(error.description)
            }
        }
        for path in eval { try attach(evaluation: path, to: &runs) }
        for run in runs {
            let r = run.report
            let figures = r.evaluations.compactMap { e in e.perplexity.map { String(format: "%@ ppl %.4g", e.name, $0) }
            }
            print(
                String(
                    format: "%@: %@, linear sparsity %.4f, parameters %d -> %d, %.1f s%@", run.name,
                    r.steps.joined(separator: " + "), r.sparsity, r.input.parameters, r.output.parameters, r.seconds,
                    figures.isEmpty ? "" : ", " + figures.joined(separator: ", ")))
        }
        if let html {
            try InputFiles.writeAtomically(Data(ReportPage.html(runs).utf8), to: html)
            print("wrote \(html) (\(ReportPage.charts(for: runs).count) charts); open it in a browser")
        }
    }

    /// The file name, or the path when two reports share a file name.
    private static func label(_ path: String, among paths: [String]) -> String {
        let name = URL(fileURLWithPath: path).lastPathComponent
        let clashes = paths.filter { URL(fileURLWithPath: $0).lastPathComponent == name }.count > 1
        return clashes ? path : name
    }

    /// Adds the figures of a `shears eval --json` result to the run whose output it evaluated.
    private func attach(evaluation path: String, to runs: inout [ReportPage.Run]) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CommandFailure.badInput("\(path): cannot read the evaluation file")
        }
        let value: JSONValue
        do { value = try JSONParser.parse([UInt8](data)) } catch {
            throw CommandFailure.badInput(
                "\(path): not valid JSON (\(error.message)); give the output of shears eval --json")
        }
        guard let model = value["model"]?.string, let ppl = value["ppl"]?.double else {
            throw CommandFailure.badInput(
                "\(path): not a `shears eval --json` result (it needs 'model' and 'ppl' members)")
        }
        let evaluated = URL(fileURLWithPath: model).standardizedFileURL
        guard
            let index = runs.firstIndex(where: { run in
                run.report.output.path.map { URL(fileURLWithPath: $0).standardizedFileURL == evaluated } ?? false
            })
        else {
            throw CommandFailure.badInput(
                "\(path): it evaluated \(model), which is no run's output (outputs: \(runs.compactMap(\.report.output.path).joined(separator: ", ")))"
            )
        }
        let text = value["text"]?.string.map { URL(fileURLWithPath: $0).lastPathComponent } ?? "eval"
        var extra: [(name: String, value: Double)] = []
        for key in ["ppl_stderr", "kld_stderr", "delta_p_rms", "ppl_base"] {
            if let figure = value[key]?.double { extra.append((key, figure)) }
        }
        runs[index].report.evaluations.append(
            RunReport.Evaluation(
                name: text, perplexity: ppl, seqlen: value["seqlen"]?.int, chunks: value["chunks"]?.int,
                kldMean: value["kld_mean"]?.double, sameTop: value["same_top"]?.double, extra: extra))
    }
}
