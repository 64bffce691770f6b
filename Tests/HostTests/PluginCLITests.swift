import Foundation
import TestSupport
import Testing

/// `shears plugins` and `shears plugin-check` on the example and fixture plugins.
@Suite("plugin commands")
struct PluginCLITests {
    /// The built plugin product `name` (`ShearsWandaPlugin`, `ShearsFixtureNaNScores`, ...).
    static func plugin(_ name: String) -> String {
        CommandRunner.binary.deletingLastPathComponent().appendingPathComponent("lib\(name).so").path
    }

    @Test("plugins lists each library's criteria with statistics and parameters")
    func listing() throws {
        let outcome = try CommandRunner.run([
            "plugins", Self.plugin("ShearsWandaPlugin"), Self.plugin("ShearsFixtureParams"),
        ])
        #expect(outcome.status == 0, "\(outcome.stderr)")
        #expect(outcome.stdout.contains("org.shears.examples.wanda 1.0.0: Shears Wanda example (C) (ABI 1.1.0, "))
        #expect(outcome.stdout.contains("  wanda 1.0.0: Wanda (C plugin) [statistics: squared_norms; thread-safe]"))
        #expect(outcome.stdout.contains("    scale (number, default 1.0, range [0.5, 4]): "))
        #expect(outcome.stdout.contains("    mode (string, default \"abs\")"))
    }

    @Test("plugins reports a library it cannot load, lists the others and exits 2")
    func listingFailure() throws {
        let broken = Self.plugin("ShearsFixtureBadMajor")
        let outcome = try CommandRunner.run(["plugins", broken, Self.plugin("ShearsWandaPlugin")])
        #expect(outcome.status == 2)
        #expect(outcome.stdout.contains("org.shears.examples.wanda"))
        #expect(
            outcome.stderr.contains("shears: plugin \(broken): built for plugin ABI 99.0.0; this host speaks ABI 1.1.0")
        )
    }

    @Test(
        "plugin-check passes the example plugins",
        arguments: ["ShearsWandaPlugin", "ShearsOBSPlugin", "ShearsPowerPlugin"])
    func examplesConform(name: String) throws {
        let outcome = try CommandRunner.run(["plugin-check", Self.plugin(name)])
        #expect(outcome.status == 0, "\(outcome.stdout)\(outcome.stderr)")
        #expect(outcome.stdout.contains("PASS  ") && outcome.stdout.contains(": strides: "))
        #expect(outcome.stdout.contains(": threads: ") && outcome.stdout.contains(" ms per million weights"))
        #expect(outcome.stdout.hasSuffix("conformance: passed\n"))
    }

    @Test(
        "plugin-check reports each broken fixture with a non-zero exit",
        arguments: [
            ("ShearsFixtureBadMajor", 2, "built for plugin ABI 99.0.0"),
            ("ShearsFixtureSmallEntry", 2, "entry struct_size 80 is smaller than the minimum 88"),
            ("ShearsFixtureNoEntry", 2, "missing entry symbol shears_plugin_get_entry"),
            ("ShearsFixtureInitFails", 2, "init failed: UNSUPPORTED: fixture: init always fails"),
            (
                "ShearsFixtureScoreError", 1,
                "FAIL  refuse: score: score failed on blk.0.ffn_up.weight: INVALID_ARGUMENT: fixture: score refuses every matrix"
            ),
            (
                "ShearsFixtureNaNScores", 1,
                "FAIL  nan: score: wrote NaN (or left unwritten) at index 4607 on finite input"
            ),
            ("ShearsFixtureIgnoresStrides", 1, "FAIL  magnitude: strides: padded rows (stride 101): scores differ"),
            (
                "ShearsFixtureSharedScratch", 1,
                "FAIL  magnitude: threads: 4 threads on one instance (declared thread-safe): "
            ),
        ])
    func brokenFixtures(name: String, status: Int32, expected: String) throws {
        let outcome = try CommandRunner.run(["plugin-check", Self.plugin(name)])
        #expect(outcome.status == status, "\(outcome.stdout)\(outcome.stderr)")
        #expect((outcome.stdout + outcome.stderr).contains(expected), "\(outcome.stdout)\(outcome.stderr)")
    }

    @Test("what a plugin logs while its init fails is on stderr")
    func initLogOnStderr() throws {
        let outcome = try CommandRunner.run(["plugin-check", Self.plugin("ShearsFixtureInitFails")])
        #expect(outcome.status == 2)
        #expect(outcome.stderr.contains("fixture: init is about to fail"), "\(outcome.stderr)")
    }

    @Test("plugin-check on a text file named .so exits 2 naming the file")
    func notALibrary() throws {
        let directory = try TemporaryDirectory()
        let fake = directory.path("libfake.so")
        try "not a library\n".write(toFile: fake, atomically: true, encoding: .utf8)
        let outcome = try CommandRunner.run(["plugin-check", fake])
        #expect(outcome.status == 2)
        #expect(outcome.stderr.contains("shears: plugin \(fake): not a loadable shared object: "))
    }

    @Test("plugin-check --json gives one object; a select fixture's masks are checked")
    func json() throws {
        let outcome = try CommandRunner.run([
            "plugin-check", Self.plugin("ShearsFixtureSelect"), "--criterion", "row_select", "--json",
        ])
        #expect(outcome.status == 0, "\(outcome.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(outcome.stdout.utf8)) as? [String: Any])
        #expect(object["passed"] as? Bool == true)
        let checks = (object["results"] as? [[String: Any]] ?? []).compactMap { $0["check"] as? String }
        #expect(checks.contains("select-unstructured") && checks.contains("select-2:4"))
    }

    @Test("plugin-check --compare-builtin prints both benchmark ratios")
    func benchmark() throws {
        let outcome = try CommandRunner.run([
            "plugin-check", Self.plugin("ShearsWandaPlugin"), "--criterion", "wanda",
            "--compare-builtin", "wanda", "--runs", "3",
        ])
        #expect(outcome.status == 0, "\(outcome.stderr)")
        #expect(outcome.stdout.contains("BENCH criterion: plugin wanda "))
        #expect(outcome.stdout.contains("BENCH criterion + per-row selection: plugin wanda "))
        #expect(outcome.stdout.contains(" (3538944 weights, median of 3): ratio "))
    }
}
