-- Wanda + DSnoT: a Wanda mask (0.6 by default) refined by DSnoT's grow-and-prune swaps on the
-- attention projections; dense and pruned perplexity, the result written.
--
--   shears run Scripts/prune-wanda-dsnot.lua model=MODEL [out=pruned.gguf] [sparsity=0.6] [max_cycles=50]
--       [threshold=0.1] [layers=attention]
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

local result = shears.prune(model, calibration, {
    shears.wanda{ sparsity = args:number("sparsity", 0.6) },
    shears.dsnot{ max_cycles = args:integer("max_cycles", 50), threshold = args:number("threshold", 0.1),
                  layers = args:string("layers", "attention") },
})
report.line("pruned linear sparsity", result.sparsity)
report.line("prune seconds", result.seconds)
report.line("pruned perplexity", model:perplexity(evaluation))

model:save(out, { type = args:string("type", "f16") })
report.line("written", out)
