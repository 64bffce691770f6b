import Foundation
import ModelIO
import TestSupport
import Testing

/// `shears.ria` in recipes on the tiny model: sparsities per scope and pattern, the permutation's
/// notes, descriptions, the example recipe and clear errors.
@Suite("RIA from recipes")
struct RIARecipeTests {
    @Test("per-matrix, per-row and 2:4 with permutation prune as specified; steps describe themselves")
    func prune() throws {
        let workspace = try RecipeTests.Workspace()
        let outcome = try workspace.run(
            """
            local function fresh() return shears.load(shears.args.model) end
            local m = fresh()
            local c = shears.calibration{ model = m, text = shears.args.text, samples = 4, seqlen = 32, seed = 1 }
            shears.prune(m, c, { shears.ria{ sparsity = 0.5 } })
            for _, name in ipairs(m:tensors()) do
                if name:match("^blk%.") and m:tensor(name).rows > 1 then
                    local s = m:tensor(name):sparsity()
                    assert(s > 0.5 and s < 0.52, name .. " per-matrix sparsity " .. s)  -- the ≤ τ rule prunes one more
                end
            end
            m = fresh()
            shears.prune(m, c, { shears.ria{ sparsity = 0.25, scope = "row", a = 1 } })
            assert(m:tensor("blk.1.ffn_down.weight"):sparsity() == 0.25)
            m = fresh()
            local notes = 0
            local report = shears.prune(m, c, {
                shears.ria{ sparsity = 0.5, pattern = "2:4", permute = true },
                on_layer = function(_, layer)
                    for _, matrix in pairs(layer.matrices) do
                        for _, note in ipairs(matrix.notes) do
                            if note:match("^permutation: retained score %+") then notes = notes + 1 end
                        end
                    end
                end,
            })
            assert(notes == 14, notes .. " permutation notes")
            assert(m:tensor("blk.0.attn_q.weight"):sparsity() == 0.5 and report.sparsity == 0.5)
            print(tostring(shears.ria{ sparsity = 0.5 }))
            print(tostring(shears.ria{ pattern = "2:4", permute = true, lsa = false, a = 0.25 }))
            """)
        #expect(outcome.status == 0, "\(outcome.stderr)")
        #expect(outcome.stdout.contains("shears.Step: ria(sparsity=0.5, a=0.5, scope=matrix)"), "\(outcome.stdout)")
        #expect(
            outcome.stdout.contains("shears.Step: ria(pattern=2:4, a=0.25, permute=true, lsa=false)"),
            "\(outcome.stdout)")
    }

    @Test("the example recipe prunes to 2:4 with permutation and writes a model with 2 of 4 kept per permuted group")
    func example() throws {
        let workspace = try RecipeTests.Workspace()
        let out = workspace.directory.path("ria24.gguf")
        let outcome = try CommandRunner.run([
            "run", RecipeTests.script("prune-ria-2of4.lua"), "model=\(workspace.model)", "calib=\(workspace.text)",
            "eval=\(workspace.text)", "samples=4", "seqlen=32", "eval_seqlen=64", "eval_chunks=2", "out=\(out)",
            "type=f32",
        ])
        #expect(outcome.status == 0, "\(outcome.stderr)")
        #expect(outcome.stdout.contains("pruned linear sparsity: 0.5000"), "\(outcome.stdout)")
        #expect(outcome.stdout.contains("mean retained-score gain of the permutation (%): "), "\(outcome.stdout)")
        let pruned = try ModelLoader.load(path: out)
        for tensor in pruned.tensors where tensor.shape.count == 2 && tensor.name.hasPrefix("blk.") {
            let buffer = tensor.storage.buffer, columns = tensor.columns
            for row in 0..<tensor.rows {
                let zeros = (0..<columns).filter { buffer[row * columns + $0] == 0 }.count
                #expect(zeros == columns / 2, "\(tensor.name) row \(row): \(zeros) zeros")
            }
        }
    }

    @Test(
        "bad RIA parameters read clearly",
        arguments: [
            ("shears.ria{ sparsity = 0.5, a = 0/0 }", "exponent a must be a finite number"),
            ("shears.ria{ sparsity = 0.5, a = math.huge }", "exponent a must be a finite number"),
            ("shears.ria{ sparsity = 0.5, scope = 'column' }", "field 'scope' must be 'matrix' or 'row', got 'column'"),
            ("shears.ria{ sparsity = 0.5, permute = true }", "channel permutation needs an N:M pattern"),
            ("shears.ria{ pattern = '2:4', lsa = true }", "needs permute = true"),
            ("shears.ria{ pattern = '2:3:4' }", "field 'pattern'"),
            ("shears.ria{ sparsity = 0.5, alpha = 1 }", "unknown field 'alpha'"),
            ("shears.ria{ pattern = '2:4', permute = 'yes' }", "permute"),
        ])
    func errors(source: String, message: String) throws {
        let outcome = try RecipeTests.Workspace().run(source)
        #expect(outcome.status == 1, "\(outcome.stderr)")
        #expect(
            outcome.stderr.contains("bad argument #1 to 'ria'") && outcome.stderr.contains(message), "\(outcome.stderr)"
        )
    }
}
