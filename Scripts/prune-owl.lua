-- OWL: one sparsity per layer from the dense model's outlier ratios (mean 0.7 by default), each
-- layer then pruned by the chosen method (Wanda, SparseGPT with its reconstruction, RIA or
-- magnitude); prints the per-layer plan, dense and pruned perplexity, writes the result.
--
--   shears run Scripts/prune-owl.lua model=MODEL [method=wanda|sparsegpt|ria|magnitude] [out=pruned.gguf]
--       [sparsity=0.7 | pattern=2:4] [m=5] [lambda=0.08]
--       [calib=TEXT] [samples=32] [seqlen=256] [eval=TEXT] [eval_seqlen=512] [eval_chunks=8] [seed=0]
--
-- With `pattern=N:M` OWL gives each layer its own N (of the same M) instead of a sparsity.
-- Calibration and evaluation data as in prune-wanda.lua (self-generated when no text is given).
local report = require("report")
local setup = require("setup")

local args = shears.args
local methods = { wanda = shears.wanda, sparsegpt = shears.sparsegpt, ria = shears.ria, magnitude = shears.magnitude }
local method = args:string("method", "wanda")
if not methods[method] then
    error("unknown method=" .. method .. " (use wanda, sparsegpt, ria or magnitude)", 0)
end
local model = shears.load(args:string("model"))
local out = args:string("out", "pruned.gguf")

local calibration = setup.calibration(args)
local evaluation = setup.evaluation(args)

report.line("dense perplexity", model:perplexity(evaluation))

local pattern = args.pattern
local result = shears.prune(model, calibration, {
    shears.owl{
        sparsity = not pattern and args:number("sparsity", 0.7) or nil, pattern = pattern,
        m = args:number("m", 5), lambda = args:number("lambda", 0.08),
    },
    methods[method]{},
})
for _, layer in ipairs(result.layers) do
    print(string.format("layer %2d: outlier ratio %.3f%%, target %.4f%s, sparsity %.4f", layer.layer,
        layer.outlier_ratio, layer.target, layer.pattern and (" (" .. layer.pattern .. ")") or "", layer.sparsity))
end
report.line("pruned linear sparsity", result.sparsity)
report.line("prune seconds", result.seconds)
report.line("pruned perplexity", model:perplexity(evaluation))

model:save(out, { type = args:string("type", "f16") })
report.line("written", out)
