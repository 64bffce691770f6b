-- The main job: prune a model with Wanda, report dense and pruned perplexity, write the result.
--
--   shears run Scripts/prune-wanda.lua model=MODEL [out=pruned.gguf] [sparsity=0.5] [pattern=2:4]
--       [calib=TEXT] [samples=32] [seqlen=256] [eval=TEXT] [eval_seqlen=512] [eval_chunks=8] [seed=0]
--
-- With no calib text, the calibration set is sampled from the model itself (self-generated
-- calibration); with no eval text, perplexity is measured on held-out self-generated text (a
-- different seed), so the recipe needs no data at all.
local report = require("report")

local args = shears.args
local model = shears.load(args:string("model"))
local out = args:string("out", "pruned.gguf")
local sparsity = args:number("sparsity", 0.5)
local pattern = args.pattern
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

local dense = model:perplexity(evaluation)
report.line("dense perplexity", dense)

local result = shears.prune(model, calibration, { shears.wanda{ sparsity = pattern and nil or sparsity, pattern = pattern } })
report.line("pruned linear sparsity", result.sparsity)
report.line("prune seconds", result.seconds)

local pruned = model:perplexity(evaluation)
report.line("pruned perplexity", pruned)

model:save(out, { type = args:string("type", "f16") })
report.line("written", out)
