-- One cell of the results table (Scripts/results.sh runs it once per configuration): prune the
-- model with one method chain on the reference calibration windows, evaluate, print one
-- machine-readable line.
--
--   shears run Scripts/results.lua model=MODEL data=DIR method=wanda level=0.5 [owl=true]
--       [owl_m=5] [owl_lambda=0.08] [dsnot=true] [chunks=40]
--
-- method: dense | magnitude | wanda | sparsegpt | ria | taylor | taylor2 (Taylor of order 2) | besa |
-- besa-exact (BESA with exact = true) | obs
-- (the example OBS plugin, found through `shears run --plugin-dir`), each optionally suffixed "-refit" for a SparseGPT-style weight re-fit
-- on the chosen mask (shears.reconstruct); level: a sparsity such as 0.6, or an
-- N:M pattern such as 2:4. Calibration: the 64 windows of 512 ids of WikiText-2 validation at the
-- offsets the reference runs drew (seed 0); evaluation: the first `chunks` chunks of 2048 ids of
-- the WikiText-2 test ids. OWL's settings are its reference commands': M = 5, λ = 0.08 unstructured;
-- for N:M its README's example, M = 6, λ = 2 (with λ = 0.08 no layer's N would change). The result
-- line is
--   result<TAB>method<TAB>level<TAB>owl<TAB>dsnot<TAB>ppl<TAB>sparsity<TAB>prune_s<TAB>eval_s
local args = shears.args
local data = args:string("data")
local method = args:string("method")
local level = args:string("level", "0")
local owl = args:boolean("owl", false)
local dsnot = args:boolean("dsnot", false)
local chunks = args:integer("chunks", 40)

local pattern = level:find(":") and level or nil
local sparsity = not pattern and tonumber(level) or nil
local owl_m = args:number("owl_m", pattern and 6 or 5)
local owl_lambda = args:number("owl_lambda", pattern and 2 or 0.08)
if method ~= "dense" and not pattern and not sparsity then error("level must be a sparsity such as 0.5 or a pattern such as 2:4, got " .. level) end

--- The steps of one configuration. With OWL in front, the method takes its sparsity from OWL.
local function chain()
    local base, refit = method:match("^(.-)(%-refit)$")
    base = base or method
    local makers = {
        magnitude = shears.magnitude, wanda = shears.wanda, sparsegpt = shears.sparsegpt, ria = shears.ria,
        taylor = shears.taylor, besa = shears.besa,
        taylor2 = function(options) options.order = 2; return shears.taylor(options) end,
        ["besa-exact"] = function(options) options.exact = true; return shears.besa(options) end,
    }
    if base == "obs" then makers.obs = shears.plugin("libShearsOBSPlugin.so"):criterion("obs") end
    local make = makers[base]
    if not make then
        error("unknown method '" .. method .. "' (magnitude, wanda, sparsegpt, ria, taylor, taylor2, besa, besa-exact, obs or dense)")
    end
    local steps = {}
    if owl then
        steps[#steps + 1] = shears.owl{ sparsity = sparsity, pattern = pattern, m = owl_m, lambda = owl_lambda }
        steps[#steps + 1] = make{}
    else
        steps[#steps + 1] = make{ sparsity = sparsity, pattern = pattern }
    end
    if dsnot then steps[#steps + 1] = shears.dsnot{} end
    if refit then steps[#steps + 1] = shears.reconstruct{} end
    return steps
end

local model = shears.load(args:string("model"))
local prune_seconds = 0
if method ~= "dense" then
    local calibration = shears.calibration{
        ids = data .. "/wikitext2-valid.smollm2-ids.i32", seqlen = 512,
        offsets = data .. "/wikitext2-valid.calib-64x512-seed0.offsets",
    }
    local t0 = shears.clock()
    shears.prune(model, calibration, chain())
    prune_seconds = shears.clock() - t0
end
local linear = model:sparsity()
local ppl, details = model:perplexity{ ids = data .. "/wikitext2-test.smollm2-ids.i32", seqlen = 2048, chunks = chunks }
print(string.format("result\t%s\t%s\t%s\t%s\t%.4f\t%.4f\t%.1f\t%.1f", method, method == "dense" and "-" or level,
    tostring(owl), tostring(dsnot), ppl, linear, prune_seconds, details.seconds))
