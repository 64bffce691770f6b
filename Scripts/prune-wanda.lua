-- The main job: prune a model with Wanda, report dense and pruned perplexity, write the result.
--
--   shears run Scripts/prune-wanda.lua model=MODEL [out=pruned.gguf] [sparsity=0.5] [pattern=2:4]
--       [calib=TEXT] [samples=32] [seqlen=256] [eval=TEXT] [eval_seqlen=512] [eval_chunks=8] [seed=0]
--       [report=run.json]
--
-- With no calib text, the calibration set is sampled from the model itself (self-generated
-- calibration); with no eval text, perplexity is measured on held-out self-generated text (a
-- different seed), so the recipe needs no data at all.
local report = require("report")
local setup = require("setup")

local args = shears.args
local model = shears.load(args:string("model"))
local out = args:string("out", "pruned.gguf")
local sparsity = args:number("sparsity", 0.5)
local pattern = args.pattern

local calibration = setup.calibration(args)
local evaluation = setup.evaluation(args)

local dense = model:perplexity(evaluation)
report.line("dense perplexity", dense)

local result = shears.prune(model, calibration, {
    shears.wanda{ sparsity = pattern and nil or sparsity, pattern = pattern }, report = args.report,
})
report.line("pruned linear sparsity", result.sparsity)
report.line("prune seconds", result.seconds)

local pruned = model:perplexity(evaluation)
report.line("pruned perplexity", pruned)

model:save(out, { type = args:string("type", "f16") })
report.line("written", out)
