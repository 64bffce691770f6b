import ArgumentParser
import Foundation
import PluginHost
import Recipes

/// `shears plugins PATH...`: what each plugin library offers, without running a recipe.
struct Plugins: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the criteria plugin libraries offer.",
        discussion: """
            Loads each library (its init runs; no criterion is created) and prints the plugin's id, \
            version and ABI, then each criterion with the statistics it reads and its parameters. \
            A library that cannot be loaded is reported and the command exits 2 after the others. \
            See docs/plugin-abi.md.
            """)

    @Argument(help: "Plugin shared libraries (.so).", completion: .file(extensions: ["so"]))
    var paths: [String]

    func run() throws {
        var failures: [String] = []
        for (index, path) in paths.enumerated() {
            do throws(PluginError) {
                let library = try PluginLibrary(path: path, hostName: "shears \(ShearsVersion.number)")
                if index > 0 { print() }
                print(Self.listing(library), terminator: "")
            } catch {
                Terminal.printError("shears: \(error)")
                failures.append(path)
            }
        }
        if !failures.isEmpty {
            throw CommandFailure.badInput("\(failures.count) of \(paths.count) plugin libraries could not be loaded")
        }
    }

    /// The text printed for one library.
    static func listing(_ library: PluginLibrary) -> String {
        let abi = library.abiVersion
        var text =
            "\(library.id) \(library.version): \(library.name) (ABI \(abi.major).\(abi.minor).\(abi.patch), \(library.path))\n"
        if !library.description.isEmpty { text += "  \(library.description)\n" }
        for criterion in library.criteria {
            let statistics =
                criterion.statisticsNames.isEmpty ? "weights only" : criterion.statisticsNames.joined(separator: ", ")
            text +=
                "\n  \(criterion.id) \(criterion.version): \(criterion.name) [statistics: \(statistics)\(criterion.isThreadSafe ? "; thread-safe" : "")]\n"
            if !criterion.description.isEmpty { text += "    \(criterion.description)\n" }
            for parameter in criterion.parameters {
                var line = "    \(parameter.name) (\(parameter.kind.rawValue), default \(parameter.defaultValue)"
                if parameter.kind == .number || parameter.kind == .integer,
                    parameter.minimum.isFinite || parameter.maximum.isFinite
                {
                    line += ", range [\(Self.bound(parameter.minimum)), \(Self.bound(parameter.maximum))]"
                }
                line += ")"
                if !parameter.description.isEmpty { line += ": \(parameter.description)" }
                text += line + "\n"
            }
        }
        return text
    }

    private static func bound(_ value: Double) -> String {
        value.isInfinite
            ? (value < 0 ? "-inf" : "inf")
            : (value.rounded() == value && abs(value) < 1e15 ? "\(Int(value))" : "\(value)")
    }
}
