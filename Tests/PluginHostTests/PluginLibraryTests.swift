import Foundation
import PluginHost
import TestSupport
import Testing

/// Loading: the checks before and around `init`, and the descriptors read afterwards.
@Suite("plugin library loading")
struct PluginLibraryTests {
    @Test("the C Wanda example loads with its declaration")
    func wandaLoads() throws {
        let library = try BuiltPlugins.load("ShearsWandaPlugin")
        #expect(library.id == "org.shears.examples.wanda")
        #expect(library.abiVersion.major == 1)
        let wanda = try library.criterion("wanda")
        #expect(wanda.statistics == .squaredNorms)
        #expect(wanda.statisticsNames == ["squared_norms"])
        #expect(wanda.parameters.isEmpty)
    }

    @Test("a declared parameter keeps its type, default and range")
    func declarations() throws {
        let params = try BuiltPlugins.load("ShearsFixtureParams").criterion("params")
        let byName = Dictionary(uniqueKeysWithValues: params.parameters.map { ($0.name, $0) })
        #expect(byName["scale"]?.kind == .number && byName["scale"]?.defaultValue == .number(1))
        #expect(byName["scale"]?.minimum == 0.5 && byName["scale"]?.maximum == 4)
        #expect(byName["shift"]?.kind == .integer && byName["shift"]?.defaultValue == .integer(0))
        #expect(byName["negate"]?.defaultValue == .boolean(false))
        #expect(byName["mode"]?.defaultValue == .string("abs"))
    }

    @Test(
        "broken libraries are refused with a message naming the file",
        arguments: [
            ("Tests/Fixtures/Plugins/not-a-library.so", "not a loadable shared object"),
            ("ShearsFixtureNoEntry", "missing entry symbol shears_plugin_get_entry"),
            ("ShearsFixtureBadMajor", "built for plugin ABI 99.0.0; this host speaks ABI 1.1"),
            ("ShearsFixtureSmallEntry", "entry struct_size 80 is smaller than the minimum 88"),
            ("ShearsFixtureInitFails", "init failed: UNSUPPORTED: fixture: init always fails"),
            ("no-such-plugin.so", "no such file"),
        ])
    func brokenLibraries(name: String, expected: String) throws {
        let path =
            name.hasSuffix(".so")
            ? ReferenceData.packageRoot.appendingPathComponent(name).path : BuiltPlugins.path(name)
        let error = try #require(BuiltPlugins.loadError(path: path))
        #expect(error.plugin == path)
        #expect(error.description.hasPrefix("plugin \(path): "))
        #expect(error.message.contains(expected), "\(error)")
    }

    @Test("what a plugin logs during a failing init reaches the handler")
    func logDuringInit() throws {
        let lines = LogLines()
        let path = BuiltPlugins.path("ShearsFixtureInitFails")
        #expect(throws: PluginError(plugin: path, "init failed: UNSUPPORTED: fixture: init always fails")) {
            try PluginLibrary(path: path, log: { lines.append($0) })
        }
        #expect(lines.all.map(\.text) == ["fixture: init is about to fail"])
        #expect(lines.all.first?.level == .error)
        #expect(lines.all.first?.plugin == "org.shears.fixtures.init-fails")
    }

    @Test("loads racing with the last release pair init and deinit: init never finds a live load")
    func loadReleaseRace() throws {
        let lines = LogLines()
        // A fixture no other in-process test loads, so every load here may initialise afresh.
        let path = BuiltPlugins.path("ShearsFixtureIgnoresStrides")
        DispatchQueue.concurrentPerform(iterations: 4) { _ in
            for _ in 0..<200 { _ = try? PluginLibrary(path: path, log: { lines.append($0) }) }
        }
        let inits = lines.all.map(\.text).filter { $0.hasPrefix("fixture: init with") }
        #expect(!inits.isEmpty)
        #expect(inits.allSatisfy { $0 == "fixture: init with 1 load(s) live" }, "\(Set(inits))")
        // A load after the storm still initialises and works.
        let library = try PluginLibrary(path: path, log: { _ in })
        #expect(throws: Never.self) { try PluginCriterion(library: library, id: "magnitude") }
    }

    @Test("an unknown criterion lists the ones offered")
    func unknownCriterion() throws {
        let library = try BuiltPlugins.load("ShearsWandaPlugin")
        #expect(
            throws: PluginError(
                plugin: library.path, criterion: "wandaa", "no such criterion (the plugin offers: wanda)")
        ) {
            try library.criterion("wandaa")
        }
    }

    @Test("log lines reach the handler with the plugin id; create sees the checked parameters")
    func logAndParameters() throws {
        let lines = LogLines()
        let library = try PluginLibrary(path: BuiltPlugins.path("ShearsFixtureParams"), log: { lines.append($0) })
        _ = try PluginCriterion(
            library: library, id: "params",
            parameters: ["scale": .number(2), "shift": .number(-3), "mode": .string("square")])
        let line = try #require(lines.all.last)
        #expect(line.plugin == "org.shears.fixtures.params")
        #expect(line.level == .info)
        #expect(line.text == "fixture: scale=2 shift=-3 negate=0 mode=square")
    }

    @Test("a failing create_criterion reports the plugin's message")
    func createFails() throws {
        let library = try BuiltPlugins.load("ShearsFixtureParams")
        let error = #expect(throws: PluginError.self) {
            try PluginCriterion(library: library, id: "params", parameters: ["mode": .string("cube")])
        }
        #expect(error?.criterion == "params")
        #expect(
            error?.message
                == "create_criterion failed: INVALID_ARGUMENT: fixture: mode must be \"abs\" or \"square\", got \"cube\""
        )
    }
}

/// Collects log lines from any thread.
final class LogLines: @unchecked Sendable {
    // @unchecked Sendable: `lines` is only touched under `lock`.
    private let lock = NSLock()
    private var lines: [PluginLogMessage] = []
    func append(_ line: PluginLogMessage) { lock.withLock { lines.append(line) } }
    var all: [PluginLogMessage] { lock.withLock { lines } }
}
