-- Prune a model to 2:4 with RIA (relative importance and activations) and its input-channel
-- permutation, report dense and pruned perplexity, write the result.
--
--   shears run Scripts/prune-ria-2of4.lua model=MODEL [out=pruned.gguf] [pattern=2:4] [permute=true]
--       [lsa=true] [a=0.5] [calib=TEXT] [samples=32] [seqlen=256] [eval=TEXT] [eval_seqlen=512]
--       [eval_chunks=8] [seed=0]
--
-- The permutation changes which weights are pruned, not where they are stored: the saved model has
-- the usual layout, and its rows are N:M in the permuted column order (the log notes the retained
-- score gained per matrix). With no calib text the calibration set is sampled from the model
-- itself; with no eval text, perplexity is measured on held-out self-generated text.
local report = require("report")
local setup = require("setup")

local args = shears.args
local model = shears.load(args:string("model"))
local out = args:string("out", "pruned.gguf")
local pattern = args:string("pattern", "2:4")
local permute = args:boolean("permute", true)
local lsa = args:boolean("lsa", true)

local calibration = setup.calibration(args)
local evaluation = setup.evaluation(args)

local dense = model:perplexity(evaluation)
report.line("dense perplexity", dense)

local step = shears.ria{ pattern = pattern, a = args:number("a", 0.5), permute = permute, lsa = permute and lsa or nil }
local gains = {}
local result = shears.prune(model, calibration, {
    step,
    on_layer = function(_, layer)
        for _, matrix in pairs(layer.matrices) do
            for _, note in ipairs(matrix.notes) do
                local gain = note:match("^permutation: retained score ([%+%-][%d%.]+)%%")
                if gain then gains[#gains + 1] = tonumber(gain) end
            end
        end
    end,
})
report.line("pruned linear sparsity", result.sparsity)
report.line("prune seconds", result.seconds)
if #gains > 0 then
    local total = 0
    for _, gain in ipairs(gains) do total = total + gain end
    report.line("mean retained-score gain of the permutation (%)", total / #gains)
end

local pruned = model:perplexity(evaluation)
report.line("pruned perplexity", pruned)

model:save(out, { type = args:string("type", "f16") })
report.line("written", out)
