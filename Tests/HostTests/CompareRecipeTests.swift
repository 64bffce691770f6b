import Foundation
import TestSupport
import Testing

/// `m:compare` in recipes: the figures of `shears eval --base`, from a base model or a base file.
@Suite("m:compare in recipes")
struct CompareRecipeTests {
    @Test("m:compare gives eval --base's figures, from the base model and from the base file it saved")
    func compare() throws {
        let workspace = try RecipeTests.Workspace()
        let saved = workspace.directory.path("base.kld")
        let outcome = try workspace.run(
            """
            local base = shears.load(shears.args.model)
            local m = shears.load(shears.args.model)
            shears.prune(m, nil, { shears.magnitude{ sparsity = 0.5 } })
            local r = m:compare(base, { text = shears.args.text, seqlen = 64, save_base = shears.args.saved })
            local f = m:compare(shears.args.saved)
            assert(r.kld_mean > 0 and r.same_top > 0 and r.same_top <= 1, "figures out of range")
            assert(r.kld_mean == f.kld_mean and r.same_top == f.same_top and r.ppl_base == f.ppl_base, "file differs")
            assert(r.kld_percentiles["50"] <= r.kld_percentiles.max, "percentiles")
            print(string.format("kld %.17g same_top %.17g ppl %.17g", r.kld_mean, r.same_top, r.ppl))
            local ok, err = pcall(function() return m:compare(shears.args.saved, { text = shears.args.text }) end)
            assert(not ok and tostring(err):find("holds its own tokens"), tostring(err))
            """, ["saved=\(saved)"])
        #expect(outcome.status == 0, "\(outcome.stderr)")
        let pruned = workspace.directory.path("pruned.gguf")
        let prune = try CommandRunner.run([
            "prune", workspace.model, "--method", "magnitude", "--sparsity", "0.5", "--out", pruned,
        ])
        try #require(prune.status == 0, "\(prune.stderr)")
        let cli = try CommandRunner.run(["eval", pruned, "--base", saved, "--json"])
        try #require(cli.status == 0, "\(cli.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(cli.stdout.utf8)) as? [String: Any])
        let line = try #require(outcome.stdout.split(separator: "\n").first { $0.hasPrefix("kld ") })
        let fields = line.split(separator: " ")
        // Compared at 12 significant digits: Foundation's JSON reading is not exact to the last bit
        // (same_top, a ratio of counts, came back one ulp off).
        func digits(_ value: Double?) -> String { value.map { String(format: "%.12g", $0) } ?? "nil" }
        #expect(digits(Double(fields[1])) == digits(report["kld_mean"] as? Double), "\(line) vs \(report)")
        #expect(digits(Double(fields[3])) == digits(report["same_top"] as? Double))
    }
}
