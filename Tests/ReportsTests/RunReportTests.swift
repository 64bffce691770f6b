import Foundation
import JSON
import Reports
import Testing

/// The run report's JSON form: it reads back what it writes, and a file that is not a report
/// (or one from a newer Shears) is refused naming the entry.
@Suite("run reports")
struct RunReportTests {
    /// A report with every kind of entry: sparse layers with OWL plans, a structured step, evaluations.
    static func sample(name: String = "wanda", sparsity: Double = 0.5, ppl: Double = 44.9) -> RunReport {
        let shapes: [RunReport.LayerShape] = (0..<4).map {
            RunReport.LayerShape(heads: 9, kvHeads: 3, ffn: $0 == 2 ? 1152 : 1536)
        }
        let layers: [RunReport.Layer] = (0..<4).map { index in
            let matrices: [RunReport.Matrix] = ["attn_q", "attn_k", "ffn_down"].map { kind in
                RunReport.Matrix(
                    name: "blk.\(index).\(kind).weight", count: 1000, zeros: Int(1000 * sparsity), target: sparsity,
                    notes: kind == "attn_k" ? ["dsnot: 3 cycles"] : [])
            }
            return RunReport.Layer(
                index: index, sparsity: sparsity + 0.01 * Double(index), target: sparsity,
                outlierRatio: index == 1 ? 3.5 : nil, pattern: nil, error: 0.01 * Double(index + 1), seconds: 1.5,
                matrices: matrices)
        }
        return RunReport(
            shearsVersion: "0.1.0", created: "2026-12-06T12:00:00Z", command: "shears prune m.gguf --method \(name)",
            input: .init(
                path: "m.gguf", sha256: String(repeating: "ab", count: 32), bytes: 98_000_000, architecture: "llama",
                parameters: 134_515_008, hidden: 576,
                layers: Array(repeating: RunReport.LayerShape(heads: 9, kvHeads: 3, ffn: 1536), count: 4)),
            output: .init(
                path: "out.gguf", sha256: nil, bytes: 200_000_000, architecture: "deci", parameters: 130_000_000,
                hidden: 576, layers: shapes),
            calibration: .init(
                source: "ids.i32, 4 windows", windows: 4, tokens: 512, sha256: String(repeating: "cd", count: 32)),
            steps: ["\(name)(sparsity=\(sparsity))"], sparsity: sparsity, layers: layers,
            modelSteps: [
                .init(
                    step: "channels", removedBlocks: [], blockScores: [(0, 1.5), (3, 2.25)],
                    notes: ["removed layer 2: 384 of 1536 FFN channels"])
            ],
            phases: [("forwards", 10), ("statistics", 1.5), ("selection", 2), ("reconstruction", 0), ("gradients", 0)],
            seconds: 14, peakResidentBytes: 700_000_000,
            evaluations: [
                .init(
                    name: "wikitext2-test.txt", perplexity: ppl, seqlen: 2048, chunks: 40, kldMean: 0.25, sameTop: 0.8,
                    extra: [("ppl_stderr", 0.5)])
            ])
    }

    @Test("written JSON reads back equal, with the documented top-level members in order")
    func roundTrip() throws {
        let report = Self.sample()
        let text = report.text
        let parsed = try JSONParser.parse([UInt8](text))
        #expect(
            parsed.members?.map(\.key) == [
                "schema", "version", "shears_version", "created", "command", "input", "output", "calibration", "steps",
                "sparsity", "layers", "model_steps", "times", "seconds", "peak_rss_bytes", "evaluations",
            ])
        #expect(parsed["layers"]?.array?[1]["outlier_ratio"]?.double == 3.5)
        #expect(parsed["layers"]?.array?[0]["outlier_ratio"]?.isNull == true)
        let back = try RunReport(json: parsed, file: "r.json")
        #expect(back == report)
        #expect(back.modelSteps[0].blockScores.map(\.score) == [1.5, 2.25])
        #expect(back.evaluations[0].extra.map(\.name) == ["ppl_stderr"])
    }

    @Test("a file that is not a report, a newer version or a wrong entry is refused naming file and entry")
    func refusals() throws {
        func error(_ edit: (inout [(key: String, value: JSONValue)]) -> Void) -> String {
            var members = Self.sample().json.members!
            edit(&members)
            do {
                _ = try RunReport(json: .object(members), file: "run.json")
                return "accepted"
            } catch { return error.description }
        }
        #expect(error { $0[0].value = .string("other") }.hasPrefix("run.json: not a Shears run report"))
        #expect(error { $0[1].value = .integer(99) }.contains("run.json: version: version 99 is newer"))
        #expect(error { $0.removeAll { $0.key == "sparsity" } } == "run.json: sparsity: missing")
        let badMatrix = error { members in
            let index = members.firstIndex { $0.key == "layers" }!
            var layers = members[index].value.array!
            var layer = layers[2].members!
            let m = layer.firstIndex { $0.key == "matrices" }!
            var matrices = layer[m].value.array!
            var matrix = matrices[1].members!
            matrix.removeAll { $0.key == "zeros" }
            matrices[1] = .object(matrix)
            layer[m].value = .array(matrices)
            layers[2] = .object(layer)
            members[index].value = .array(layers)
        }
        #expect(badMatrix == "run.json: layers[2].matrices[1].zeros: missing")
        #expect(throws: RunReportError.self) { try RunReport(contentsOf: "/nonexistent/run.json") }
    }
}
