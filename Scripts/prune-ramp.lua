-- A linear sparsity ramp over the layers (from=0.4 at layer 0 to to=0.6 at the last), each layer
-- pruned by Wanda; dense and pruned perplexity, the result written.
--
--   shears run Scripts/prune-ramp.lua model=MODEL [out=pruned.gguf] [from=0.4] [to=0.6]
--       [calib=TEXT] [samples=32] [seqlen=256] [eval=TEXT] [eval_seqlen=512] [eval_chunks=8] [seed=0]
--
-- Calibration and evaluation data as in prune-wanda.lua (self-generated when no text is given).
local report = require("report")

local args = shears.args
local model = shears.load(args:string("model"))
local out = args:string("out", "pruned.gguf")
local samples = args:integer("samples", 32)
local seqlen = args:integer("seqlen", 256)
local seed = args:integer("seed", 0)

-- Calibration: a text if given, else the model's own samples.
local calibration
if args.calib then
    calibration = shears.calibration{ text = args.calib, samples = samples, seqlen = seqlen, seed = seed }
else
    calibration = shears.calibration{ generate = true, samples = samples, seqlen = seqlen, seed = seed }
end
shears.log("calibration: " .. calibration.source)

-- Evaluation data: a text if given, else held-out self-generated text.
local eval_seqlen = args:integer("eval_seqlen", args.eval and 512 or seqlen)
local evaluation
if args.eval then
    evaluation = { text = args.eval, seqlen = eval_seqlen, chunks = args:integer("eval_chunks", 8) }
else
    local heldout = shears.calibration{ generate = true, samples = args:integer("eval_chunks", 8), seqlen = eval_seqlen, seed = seed + 1000 }
    local ids = {}
    for i = 1, #heldout do
        for _, id in ipairs(heldout:window(i)) do ids[#ids + 1] = id end
    end
    evaluation = { tokens = ids, seqlen = eval_seqlen }
end

report.line("dense perplexity", model:perplexity(evaluation))

local from, to = args:number("from", 0.4), args:number("to", 0.6)
local ramp = {}
for layer = 0, model.layers - 1 do
    ramp[#ramp + 1] = from + (to - from) * layer / math.max(1, model.layers - 1)
end
local result = shears.prune(model, calibration, { shears.layer_sparsity(ramp), shears.wanda{} })
for _, layer in ipairs(result.layers) do
    print(string.format("layer %2d: target %.4f, sparsity %.4f", layer.layer, layer.target, layer.sparsity))
end
report.line("pruned linear sparsity", result.sparsity)
report.line("prune seconds", result.seconds)
report.line("pruned perplexity", model:perplexity(evaluation))

model:save(out, { type = args:string("type", "f16") })
report.line("written", out)
