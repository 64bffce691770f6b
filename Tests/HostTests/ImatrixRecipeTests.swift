import Foundation
import ModelIO
import TestSupport
import Testing

/// `shears.calibration{ imatrix = ... }` and `m:save_imatrix` in recipes on the tiny model: an
/// imatrix saved from windows drives Wanda with no calibration forward to the masks of the
/// calibrated prune on layer 0, and SparseGPT on it is refused in Lua's words.
@Suite("imatrix in recipes")
struct ImatrixRecipeTests {
    @Test("save_imatrix, then wanda on it: no forward, layer 0 as with the windows; sparsegpt refused")
    func roundTrip() throws {
        let workspace = try RecipeTests.Workspace()
        let imatrix = workspace.directory.path("tiny.imatrix.gguf")
        let outcome = try workspace.run(
            """
            local m = shears.load(shears.args.model)
            local c = shears.calibration{ text = shears.args.text, samples = 4, seqlen = 16, seed = 1 }
            m:save_imatrix(c, shears.args.imatrix)
            local i = shears.calibration{ imatrix = shears.args.imatrix }
            assert(i.imatrix == shears.args.imatrix and #i == 0 and i.samples == 4 and i.seqlen == 16)
            local a = shears.load(shears.args.model)
            local report = shears.prune(a, i, { shears.wanda{ sparsity = 0.5 }, targets = { "blk.0.*" } })
            assert(report.calibration_windows == 0, report.calibration_windows)
            local b = shears.load(shears.args.model)
            shears.prune(b, c, { shears.wanda{ sparsity = 0.5 }, targets = { "blk.0.*" } })
            for _, part in ipairs({ "attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down" }) do
                local name = "blk.0." .. part .. ".weight"
                local x, y = a:tensor(name), b:tensor(name)
                -- The same weights under the same mask: equal sparsity and an equal norm.
                assert(x:sparsity() == y:sparsity() and x:norm() == y:norm(), name)
            end
            local ok, err = pcall(shears.prune, shears.load(shears.args.model), i, { shears.sparsegpt{ sparsity = 0.5 } })
            assert(not ok and tostring(err):find("sparsegpt cannot run on the imatrix"), tostring(err))
            ok, err = pcall(shears.calibration, { imatrix = shears.args.model })
            assert(not ok and tostring(err):find("not 'imatrix'"), tostring(err))
            print("ok")
            """, ["imatrix=\(imatrix)"])
        #expect(outcome.status == 0, "\(outcome.stderr)")
        #expect(outcome.stdout.contains("ok"))
        #expect(try ImportanceMatrix(path: imatrix).entries.count == 14)
    }
}
