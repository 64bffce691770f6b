import Foundation
import TestSupport
import Testing

/// The example recipes on SmolLM2, through the binary.
@Suite("recipes on SmolLM2", .enabled(if: ReferenceData.hasModel && ReferenceData.hasData), .serialized)
struct RealModelRecipeTests {
    @Test("evaluate.lua reproduces the reference first-chunk perplexity; generate.lua the greedy continuation")
    func examples() throws {
        let evaluate = try CommandRunner.run([
            "run", RecipeTests.script("evaluate.lua"), "model=\(ReferenceData.modelPath)",
            "text=\(ReferenceData.file("wikitext2-test.txt").path)", "seqlen=2048", "chunks=1",
        ])
        #expect(evaluate.status == 0, "\(evaluate.stderr)")
        #expect(evaluate.stdout.hasPrefix("perplexity: 15.146"), "\(evaluate.stdout)")
        let generate = try CommandRunner.run([
            "run", RecipeTests.script("generate.lua"), "model=\(ReferenceData.modelPath)", "max_tokens=12",
        ])
        #expect(generate.status == 0, "\(generate.stderr)")
        #expect(
            generate.stdout.hasPrefix("The capital of France is Paris.\n\nThe answer is: 201"), "\(generate.stdout)")
    }

    @Test("calibration windows drawn for seed 0 are the reference runs' windows")
    func referenceWindows() throws {
        let directory = try TemporaryDirectory()
        let recipe = directory.path("windows.lua")
        try """
        local D = shears.args.data
        local m = shears.load(shears.args.model)
        local drawn = shears.calibration{ ids = D .. "/wikitext2-valid.smollm2-ids.i32", samples = 64, seqlen = 512, seed = 0 }
        local given = shears.calibration{ ids = D .. "/wikitext2-valid.smollm2-ids.i32", seqlen = 512,
                                          offsets = D .. "/wikitext2-valid.calib-64x512-seed0.offsets" }
        assert(#drawn == 64 and #given == 64)
        for i = 1, 64 do assert(table.concat(drawn:window(i), " ") == table.concat(given:window(i), " "), i) end
        print("ok")
        """.write(toFile: recipe, atomically: true, encoding: .utf8)
        let outcome = try CommandRunner.run([
            "run", recipe, "model=\(ReferenceData.modelPath)", "data=\(ReferenceData.dataDirectory.path)",
        ])
        #expect(outcome.status == 0, "\(outcome.stderr)")
        #expect(outcome.stdout == "ok\n")
    }
}
