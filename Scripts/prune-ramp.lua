-- A linear sparsity ramp over the layers (from=0.4 at layer 0 to to=0.6 at the last), each layer
-- pruned by Wanda; dense and pruned perplexity, the result written.
--
--   shears run Scripts/prune-ramp.lua model=MODEL [out=pruned.gguf] [from=0.4] [to=0.6]
--       [calib=TEXT] [samples=32] [seqlen=256] [eval=TEXT] [eval_seqlen=512] [eval_chunks=8] [seed=0]
--
-- Calibration and evaluation data as in prune-wanda.lua (self-generated when no text is given).
local report = require("report")
local setup = require("setup")

local args = shears.args
local model = shears.load(args:string("model"))
local out = args:string("out", "pruned.gguf")

local calibration = setup.calibration(args)
local evaluation = setup.evaluation(args)

report.line("dense perplexity", model:perplexity(evaluation))

local from, to = args:number("from", 0.4), args:number("to", 0.6)
local ramp = shears.layer_sparsity(model, function(layer, layers)
    return from + (to - from) * layer / math.max(1, layers - 1)
end)
local result = shears.prune(model, calibration, { ramp, shears.wanda{} })
for _, layer in ipairs(result.layers) do
    print(string.format("layer %2d: target %.4f, sparsity %.4f", layer.layer, layer.target, layer.sparsity))
end
report.line("pruned linear sparsity", result.sparsity)
report.line("prune seconds", result.seconds)
report.line("pruned perplexity", model:perplexity(evaluation))

model:save(out, { type = args:string("type", "f16") })
report.line("written", out)
