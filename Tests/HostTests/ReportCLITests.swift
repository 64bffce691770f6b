import Foundation
import ModelIO
import TestSupport
import Testing

/// Run reports on SmolLM2: `shears prune --report`, `shears.prune{ report = ... }` with the
/// evaluation and the saved file recorded, and `shears report --html` rendered by headless Chromium.
@Suite("run reports from the CLI and recipes", .enabled(if: ReferenceData.hasModel && ReferenceData.hasData))
struct ReportCLITests {
    static let ids = ReferenceData.file("wikitext2-valid.smollm2-ids.i32").path

    static func json(_ path: String) throws -> [String: Any] {
        try #require(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any])
    }

    static func sha256sum(_ path: String) throws -> String {
        let outcome = try ChildProcess.run(URL(fileURLWithPath: "/usr/bin/sha256sum"), [path])
        return String(outcome.stdout.prefix(64))
    }

    /// Headless Chromium, when installed (the test script installs Debian's `chromium`).
    static let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].first {
        FileManager.default.isExecutableFile(atPath: $0)
    }

    @Test("prune --report, eval --json, report --html: hashes, shapes and figures are the run's; the page renders")
    func cliReportAndPage() throws {
        let directory = try TemporaryDirectory()
        let wanda = directory.path("wanda.gguf"), channels = directory.path("channels.gguf")
        let common = ["--calib-ids", Self.ids, "--samples", "4", "--seqlen", "128", "--type", "f16"]
        let first = try CommandRunner.run(
            [
                "prune", ReferenceData.modelPath, "--method", "wanda", "--sparsity", "0.5", "--out", wanda,
                "--report", directory.path("wanda.json"),
            ] + common)
        #expect(first.status == 0, "\(first.stderr)")
        let second = try CommandRunner.run(
            [
                "prune", ReferenceData.modelPath, "--method", "channels", "--param", "ratio=0.25",
                "--param", "criterion=magnitude", "--out", channels, "--report", directory.path("channels.json"),
            ] + common)
        #expect(second.status == 0, "\(second.stderr)")

        let report = try Self.json(directory.path("wanda.json"))
        #expect(report["schema"] as? String == "shears.run-report" && report["version"] as? Int == 1)
        let input = try #require(report["input"] as? [String: Any])
        #expect(input["sha256"] as? String == (try Self.sha256sum(ReferenceData.modelPath)))
        #expect(input["architecture"] as? String == "llama" && (input["layers"] as? [Any])?.count == 30)
        let output = try #require(report["output"] as? [String: Any])
        #expect(output["sha256"] as? String == (try Self.sha256sum(wanda)))
        let size = try FileManager.default.attributesOfItem(atPath: wanda)[.size] as? Int
        #expect(output["bytes"] as? Int == size)
        let calibration = try #require(report["calibration"] as? [String: Any])
        #expect(calibration["windows"] as? Int == 4 && calibration["tokens"] as? Int == 512)
        let layers = try #require(report["layers"] as? [[String: Any]])
        #expect(layers.count == 30)
        for layer in layers {
            let matrices = try #require(layer["matrices"] as? [[String: Any]])
            #expect(matrices.count == 7)
            let sparsity = try #require(layer["sparsity"] as? Double)
            #expect(abs(sparsity - 0.5) < 0.01, "layer \(layer["layer"] ?? "?"): \(sparsity)")
            #expect((layer["error"] as? Double).map { $0 > 0 && $0 < 1 } == true)
        }
        let structured = try Self.json(directory.path("channels.json"))
        let shapes = try #require((structured["output"] as? [String: Any])?["layers"] as? [[String: Any]])
        #expect(shapes.allSatisfy { $0["ffn"] as? Int == 1152 }, "\(shapes.prefix(2))")
        let notes = (structured["model_steps"] as? [[String: Any]])?.first?["notes"] as? [String]
        #expect(notes?.count == 30)

        let evalJSON = directory.path("wanda-eval.json")
        let eval = try CommandRunner.run([
            "eval", wanda, "--ids", ReferenceData.file("wikitext2-test.smollm2-ids.i32").path, "--seqlen", "128",
            "--chunks", "2", "--json",
        ])
        #expect(eval.status == 0, "\(eval.stderr)")
        try eval.stdout.write(toFile: evalJSON, atomically: true, encoding: .utf8)
        let page = directory.path("report.html")
        let rendered = try CommandRunner.run([
            "report", directory.path("wanda.json"), directory.path("channels.json"), "--eval", evalJSON, "--html", page,
        ])
        #expect(rendered.status == 0, "\(rendered.stderr)")
        #expect(rendered.stdout.contains("wanda.json: wanda(sparsity=0.5"), "\(rendered.stdout)")
        #expect(rendered.stdout.contains("wikitext2-test.smollm2-ids.i32 ppl"), "\(rendered.stdout)")
        #expect(rendered.stdout.contains("(7 charts)"), "\(rendered.stdout)")

        // An evaluation of a file that is no run's output, and a file that is not a report: exit 2.
        let stray = try CommandRunner.run([
            "report", directory.path("channels.json"), "--eval", evalJSON, "--html", directory.path("x.html"),
        ])
        #expect(stray.status == 2 && stray.stderr.contains("which is no run's output"), "\(stray.stderr)")
        let notReport = try CommandRunner.run(["report", evalJSON])
        #expect(notReport.status == 2 && notReport.stderr.contains("not a Shears run report"), "\(notReport.stderr)")
        #expect(!FileManager.default.fileExists(atPath: directory.path("x.html")))

        guard let chromium = Self.chromium else {
            #expect(!ReferenceData.required, "chromium is missing: Scripts/install-deps.sh --test installs it")
            return
        }
        let browser = try ChildProcess.run(
            URL(fileURLWithPath: chromium),
            [
                "--headless", "--no-sandbox", "--disable-gpu", "--enable-logging=stderr", "--v=0",
                "--user-data-dir=\(directory.path("chromium-profile"))", "--dump-dom", "file://\(page)",
            ])
        #expect(browser.status == 0, "\(browser.stderr)")
        #expect(browser.stdout.contains("data-charts=\"7\""), "\(browser.stdout.prefix(300))")
        #expect(browser.stdout.contains("data-charts-rendered=\"7\""))
        let console = browser.stderr.split(separator: "\n").filter {
            $0.contains(":CONSOLE") || $0.contains("Uncaught")
        }
        #expect(console.isEmpty, "\(console)")
    }

    @Test("shears.prune{ report = ... }: the saved output and each perplexity measured afterwards land in the report")
    func recipeReport() throws {
        let directory = try TemporaryDirectory()
        let recipe = directory.path("r.lua")
        try """
        local a = shears.args
        local m = shears.load(a:string("model"))
        local c = shears.calibration{ ids = a:string("ids"), samples = 2, seqlen = 64 }
        shears.prune(m, c, { shears.magnitude{ sparsity = 0.3 }, targets = { "blk.0.*" }, report = a:string("report") })
        m:perplexity{ ids = a:string("ids"), seqlen = 64, chunks = 2 }
        m:save(a:string("out"))
        """.write(toFile: recipe, atomically: true, encoding: .utf8)
        let report = directory.path("run.json"), out = directory.path("out.gguf")
        let outcome = try CommandRunner.run([
            "run", recipe, "model=\(ReferenceData.modelPath)", "ids=\(Self.ids)", "report=\(report)", "out=\(out)",
        ])
        #expect(outcome.status == 0, "\(outcome.stderr)")
        let json = try Self.json(report)
        #expect((json["command"] as? String)?.hasPrefix("shears run r.lua model=") == true, "\(json["command"] ?? "")")
        #expect((json["layers"] as? [Any])?.count == 1)
        let evaluation = try #require((json["evaluations"] as? [[String: Any]])?.first)
        #expect(evaluation["name"] as? String == "wikitext2-valid.smollm2-ids.i32")
        #expect(evaluation["seqlen"] as? Int == 64 && evaluation["chunks"] as? Int == 2)
        #expect((evaluation["ppl"] as? Double).map { $0 > 1 } == true)
        let output = try #require(json["output"] as? [String: Any])
        #expect(output["path"] as? String == out)
        #expect(output["sha256"] as? String == (try Self.sha256sum(out)))
    }
}
