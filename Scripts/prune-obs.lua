-- Prune a model with the Optimal Brain Surgeon saliency from the example plugin
-- (Plugins/obs-c, criterion "obs": w_ij^2 / [(H + damp*mean(diag H)*I)^-1]_jj), report dense and
-- pruned perplexity, write the result.
--
--   swift build -c release --product ShearsOBSPlugin
--   shears run --plugin-dir .build/release Scripts/prune-obs.lua model=MODEL [out=pruned.gguf]
--       [sparsity=0.5] [pattern=2:4] [damp=0.01] [reconstruct=false] [plugin=libShearsOBSPlugin.so]
--       [calib=TEXT] [samples=32] [seqlen=256] [eval=TEXT] [eval_seqlen=512] [eval_chunks=8] [seed=0]
--
-- The saliency assumes the kept weights of a row are re-fitted after a removal: reconstruct=true
-- does that re-fit (shears.reconstruct{}, SparseGPT's solver with the plugin's mask); without it
-- only the mask is applied. Data as in prune-wanda.lua: with no calib text the calibration set is
-- sampled from the model itself, with no eval text perplexity is measured on held-out
-- self-generated text.
local report = require("report")
local setup = require("setup")

local args = shears.args
local model = shears.load(args:string("model"))
local out = args:string("out", "pruned.gguf")
local sparsity = args:number("sparsity", 0.5)
local pattern = args.pattern

local plugin = shears.plugin(args:string("plugin", "libShearsOBSPlugin.so"))
local obs = plugin:criterion("obs")

local calibration = setup.calibration(args)
local evaluation = setup.evaluation(args)

local dense = model:perplexity(evaluation)
report.line("dense perplexity", dense)

local steps = { obs{ damp = args:number("damp", 0.01), sparsity = pattern and nil or sparsity, pattern = pattern } }
if args:boolean("reconstruct", false) then steps[#steps + 1] = shears.reconstruct{ damp = args:number("damp", 0.01) } end
local result = shears.prune(model, calibration, steps)
report.line("pruned linear sparsity", result.sparsity)
report.line("prune seconds", result.seconds)

local pruned = model:perplexity(evaluation)
report.line("pruned perplexity", pruned)

model:save(out, { type = args:string("type", "f16") })
report.line("written", out)
