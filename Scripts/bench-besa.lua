-- BESA's prune time against Wanda's, in one process (Scripts/bench-besa.sh runs it): both at 50%
-- on the reference 64 x 512 calibration windows, BESA's seconds split by phase from its block
-- notes (block forwards, backward with the chain rule to the logits, optimiser, masks), and the
-- engine's own forwards (calibration capture, dense statistics pass, pruned pass).
--
--   shears run Scripts/bench-besa.lua model=MODEL data=DIR
local data = shears.args:string("data")
local path = shears.args:string("model")
local wanda = shears.load(path)
local c = shears.calibration{
    ids = data .. "/wikitext2-valid.smollm2-ids.i32", seqlen = 512,
    offsets = data .. "/wikitext2-valid.calib-64x512-seed0.offsets",
}
local t0 = shears.clock()
shears.prune(wanda, c, { shears.wanda{ sparsity = 0.5 } })
local wanda_seconds = shears.clock() - t0
wanda:close()

local besa = shears.load(path)
local split = { forward = 0, backward = 0, optimizer = 0, masks = 0 }
local steps = 0
t0 = shears.clock()
local report = shears.prune(besa, c, { shears.besa{ sparsity = 0.5 }, on_layer = function(_, layer)
    for _, matrix in pairs(layer.matrices) do
        for _, note in ipairs(matrix.notes) do
            local n = note:match("over (%d+) steps")
            if n then
                steps = steps + tonumber(n)
                for phase in pairs(split) do
                    split[phase] = split[phase] + tonumber(note:match(phase .. " ([%d.]+)"))
                end
            end
        end
    end
end })
local besa_seconds = shears.clock() - t0
print(string.format("wanda\t%.2f", wanda_seconds))
print(string.format("besa\t%.2f\tsparsity %.4f\tsteps %d", besa_seconds, report.sparsity, steps))
print(string.format("besa_split\tforward %.2f\tbackward %.2f\toptimizer %.2f\tmasks %.2f\tengine_forwards %.2f",
    split.forward, split.backward, split.optimizer, split.masks, report.times.forwards + report.times.statistics))
print(string.format("ratio\t%.2f", besa_seconds / wanda_seconds))
