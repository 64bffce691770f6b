import Foundation
import ModelIO
import TestSupport
import Testing

/// `shears.besa{...}` and `shears prune --method besa` on the tiny model: one description serves
/// both, a criterion before it sets the order, the report carries BESA's notes, and bad chains
/// are refused in plain words.
@Suite("BESA from the CLI and recipes")
struct BESARecipeTests {
    @Test("--method besa equals { shears.wanda{}, shears.besa{ sparsity = 0.5 } }, with BESA's report notes")
    func commandEqualsRecipe() throws {
        let workspace = try RecipeTests.Workspace()
        let (a, b, _, printed) = try PruneCLITests.commandAndRecipe(
            workspace,
            [
                workspace.model, "--method", "besa", "--sparsity", "0.5", "--param", "epochs=2", "--calib",
                workspace.text, "--samples", "4", "--seqlen", "32", "--seed", "1",
            ],
            """
            local m = shears.load(shears.args.model)
            local c = shears.calibration{ text = shears.args.text, samples = 4, seqlen = 32, seed = 1 }
            local report = shears.prune(m, c, { shears.wanda{}, shears.besa{ sparsity = 0.5, epochs = 2 } })
            for _, layer in ipairs(report.layers) do
                local block = 0
                for name, matrix in pairs(layer.matrices) do
                    assert(matrix.notes[1]:find("^besa rows: sparsity min"), matrix.notes[1])
                    if matrix.notes[2] then
                        assert(matrix.notes[2]:find("^besa block: loss first"), matrix.notes[2])
                        block = block + 1
                    end
                end
                assert(block == 1, "one block note per layer")
            end
            m:save(shears.args.out, { type = "f32" })
            print(string.format("sparsity %.4f", report.sparsity))
            """)
        try PruneCLITests.expectSameTensors(a, b, keys: ["shears.calibration", "shears.sparsity"])
        #expect(a.metadata["shears.steps"] == .string("besa(sparsity=0.5, epochs=2, beta=5.0, d_coef=5.0)"))
        #expect(b.metadata["shears.steps"] == .string("wanda() + besa(sparsity=0.5, epochs=2, beta=5.0, d_coef=5.0)"))
        #expect(printed.hasPrefix("sparsity 0.4"), "\(printed)")
    }

    @Test(
        "bad BESA requests exit 2 and write nothing",
        arguments: [
            ["--method", "besa", "--pattern", "2:4", "--calib-generate"],
            ["--method", "besa", "--sparsity", "0", "--calib-generate"],
            ["--method", "besa", "--sparsity", "0.5", "--param", "candidates=1", "--calib-generate"],
            ["--method", "besa", "--sparsity", "0.5", "--param", "granularity=column", "--calib-generate"],
        ])
    func refusals(arguments: [String]) throws {
        let directory = try TemporaryDirectory()
        let model = try CLITests.tinyModel(in: directory)
        let out = directory.path("out.gguf")
        let outcome = try CommandRunner.run(["prune", model] + arguments + ["--out", out])
        #expect(outcome.status == 2, "\(outcome.stderr)")
        #expect(!outcome.stderr.isEmpty)
        #expect(!FileManager.default.fileExists(atPath: out))
    }

    @Test(
        "chain errors read clearly",
        arguments: [
            (
                "shears.prune(m, c, { shears.wanda{ pattern = '2:4' }, shears.besa{} })",
                "besa learns a pruned count per row, which no N:M pattern (2:4, from 2:4) allows"
            ),
            ("shears.prune(m, c, { shears.besa{ sparsity = 0.5 }, shears.wanda{} })", "cannot follow besa (layer)"),
            ("shears.besa{ sparsity = 1 }", "the target sparsity must be in (0, 1), got 1.0"),
            ("shears.besa{ sparsity = 0.5, candidates = 1 }", "candidates must be at least 2"),
        ])
    func chainErrors(source: String, message: String) throws {
        let outcome = try RecipeTests.Workspace().run(
            """
            local m = shears.load(shears.args.model)
            local c = shears.calibration{ text = shears.args.text, samples = 4, seqlen = 32, seed = 1 }
            \(source)
            """)
        #expect(outcome.status != 0)
        #expect(outcome.stderr.contains(message), "\(outcome.stderr)")
    }
}
