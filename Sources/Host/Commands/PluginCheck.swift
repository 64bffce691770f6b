import ArgumentParser
import BuiltinMethods
import Foundation
import ModelIO
import PluginHost
import PruningEngine
import Recipes

/// `shears plugin-check LIB [--criterion ID] [--json] [--compare-builtin wanda]`: the conformance
/// checker, and the boundary-cost benchmark against a built-in criterion.
struct PluginCheck: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plugin-check",
        abstract: "Check a plugin library against the plugin ABI on generated fixtures.",
        discussion: """
            Loads LIB, then runs each criterion (or only --criterion ID) on generated matrices and \
            statistics and reports: ABI version and struct sizes, determinism (same input, same \
            scores), strided views (padded rows, every other column, statistics at stride 3), \
            NaN/±Inf weights, error reporting (an F16 view must be refused with a message), a 2:4 \
            pattern, masks from select, the thread-safety declaration (concurrent calls), and time \
            per million weights. Exit status: 0 when nothing fails, 1 when a check fails, 2 when \
            the library cannot be loaded. --compare-builtin also times the criterion against the \
            built-in one on one layer of the model's matrix shapes (SmolLM2-135M's by default), \
            interleaved, and prints the median ratio. See docs/plugin-abi.md.
            """)

    @Argument(help: "The plugin shared library (.so).", completion: .file(extensions: ["so"]))
    var library: String

    @Option(help: "Check only this criterion.")
    var criterion: String?

    @Flag(help: "Print one JSON object.")
    var json = false

    @Option(help: "Time the criterion against this built-in criterion: wanda or magnitude.")
    var compareBuiltin: String?

    @Option(
        help: "With --compare-builtin: take the matrix shapes from this model instead of SmolLM2-135M's.",
        completion: .file(extensions: ["gguf"]))
    var model: String?

    @Option(help: "With --compare-builtin: timed passes (the median is reported).")
    var runs = 21

    func validate() throws {
        if let compareBuiltin, !["wanda", "magnitude"].contains(compareBuiltin) {
            throw ValidationError("--compare-builtin must be wanda or magnitude, got '\(compareBuiltin)'")
        }
        if compareBuiltin != nil, criterion == nil { throw ValidationError("--compare-builtin needs --criterion ID") }
        guard runs >= 1 else { throw ValidationError("--runs must be at least 1") }
    }

    func run() throws {
        let plugin: PluginLibrary
        let results: [PluginCheckResult]
        do throws(PluginError) {
            plugin = try PluginLibrary(path: library, hostName: "shears \(ShearsVersion.number)")
            results = try PluginConformance.check(plugin, only: criterion)
        } catch {
            if json { print(Self.jsonText(["plugin": library, "loaded": false, "error": error.description])) }
            throw CommandFailure.badInput(error.description)
        }
        let comparison = try compareBuiltin.map { try compare(plugin, builtin: $0) }
        let failures = results.filter { $0.outcome == .fail }
        if json {
            var object: [String: Any] = [
                "plugin": plugin.path, "id": plugin.id, "version": plugin.version, "loaded": true,
                "passed": failures.isEmpty,
                "results": results.map { result -> [String: Any] in
                    [
                        "criterion": result.criterion ?? NSNull(), "check": result.check,
                        "outcome": result.outcome.rawValue,
                        "detail": result.detail,
                    ]
                },
            ]
            if let comparison {
                func entry(_ report: PluginBenchmark.Report) -> [String: Any] {
                    [
                        "builtin_seconds": report.builtinSeconds, "plugin_seconds": report.pluginSeconds,
                        "ratio": report.ratio,
                        "weights": report.weights, "runs": report.runs,
                    ]
                }
                object["benchmark"] = [
                    "builtin": compareBuiltin!, "criterion": entry(comparison.criterion),
                    "criterion_and_selection": entry(comparison.selection),
                ]
            }
            print(Self.jsonText(object))
        } else {
            print("\(plugin.id) \(plugin.version) (\(plugin.path))")
            for result in results {
                let label = result.outcome.rawValue.uppercased().padding(toLength: 4, withPad: " ", startingAt: 0)
                print("\(label)  \(result.criterion.map { "\($0): " } ?? "")\(result.check): \(result.detail)")
            }
            if let comparison {
                for (label, report) in [
                    ("criterion", comparison.criterion), ("criterion + per-row selection", comparison.selection),
                ] {
                    print(
                        String(
                            format:
                                "BENCH %@: plugin %@ %.3f ms vs built-in %@ %.3f ms per layer (%d weights, median of %d): ratio %.3f",
                            label, criterion!, report.pluginSeconds * 1e3, compareBuiltin!, report.builtinSeconds * 1e3,
                            report.weights, report.runs, report.ratio))
                }
            }
            print(
                failures.isEmpty
                    ? "conformance: passed"
                    : "conformance: \(failures.count) check\(failures.count == 1 ? "" : "s") failed")
        }
        if !failures.isEmpty {
            throw CommandFailure.runFailed(
                "\(plugin.path): \(failures.count) conformance check\(failures.count == 1 ? "" : "s") failed")
        }
    }

    /// The benchmark of `--compare-builtin`: the criterion alone (no NaN check), then criterion
    /// and per-row selection as recipes run them (the plugin's with the fused NaN check).
    private func compare(
        _ plugin: PluginLibrary, builtin: String
    ) throws -> (criterion: PluginBenchmark.Report, selection: PluginBenchmark.Report) {
        var shapes = PluginBenchmark.layerShapes(hidden: 576, kvDimension: 192, ffn: 1536)
        if let model {
            let config = try ModelLoader.load(path: model).config
            shapes = PluginBenchmark.layerShapes(
                hidden: config.hiddenSize, kvDimension: config.maxKVWidth, ffn: config.maxFFNSize)
        }
        do {
            let instance = try PluginCriterion(library: plugin, id: criterion!)
            let builtinStep: any PruneStep = builtin == "wanda" ? WandaScore() : MagnitudeScore()
            let pluginStep = PluginCriterionStep(instance, checksScores: false)
            let criterion = try PluginBenchmark.compare(
                builtin: [builtinStep], plugin: [pluginStep], shapes: shapes, runs: runs, repeats: 10)
            let selection = try PluginBenchmark.compare(
                builtin: [builtinStep, RowSelector()],
                plugin: [pluginStep, PluginCheckedSelector(instance, rule: .row)],
                shapes: shapes, runs: runs)
            return (criterion, selection)
        } catch let error as PluginError {
            throw CommandFailure.badInput(error.description)
        } catch {
            throw CommandFailure.runFailed("benchmark: \(error)")
        }
    }

    private static func jsonText(_ object: [String: Any]) -> String {
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) else {
            return "{}"
        }
        return String(decoding: data, as: UTF8.self)
    }
}
