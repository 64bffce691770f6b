-- The structured main job: make a model smaller and faster with FLAP — whole KV groups and FFN
-- channels removed, their mean contribution put back as biases — report dense and pruned
-- perplexity and parameters, and write the narrower model as a GGUF that stock llama.cpp runs.
--
--   shears run Scripts/prune-flap.lua model=MODEL [out=smaller.gguf] [params=0.25] [round_to=64]
--       [structure=AL-AM] [calib=TEXT] [samples=32] [seqlen=256] [eval=TEXT] [eval_seqlen=512]
--       [eval_chunks=8] [seed=0] [type=f16]
--
-- `params` is the fraction of all the model's parameters to remove; `round_to` rounds every kept
-- FFN width to a multiple (64 keeps llama.cpp's matrix kernels fast). Without calib or eval texts
-- the recipe calibrates and evaluates on text the model generates itself (Scripts/lib/setup.lua).
local report = require("report")
local setup = require("setup")

local args = shears.args
local model = shears.load(args:string("model"))
local out = args:string("out", "smaller.gguf")

local calibration = setup.calibration(args)
local evaluation = setup.evaluation(args)

local dense_parameters = model.parameters
report.line("dense perplexity", model:perplexity(evaluation))

local result = shears.prune(model, calibration, {
    shears.flap{
        params = args:number("params", 0.25), round_to = args:integer("round_to", 64),
        structure = args:string("structure", "AL-AM"),
    },
})
for _, note in ipairs(result.model_notes) do shears.log(note) end
report.line("pruned perplexity", model:perplexity(evaluation))
report.line("parameters", string.format("%d of %d (%.1f%% removed)", model.parameters, dense_parameters,
    100 * (1 - model.parameters / dense_parameters)))
report.line("prune seconds", result.seconds)

model:save(out, { type = args:string("type", "f16") })
report.line("written", out .. " (" .. model.arch .. ")")
