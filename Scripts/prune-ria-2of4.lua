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

local args = shears.args
local model = shears.load(args:string("model"))
local out = args:string("out", "pruned.gguf")
local pattern = args:string("pattern", "2:4")
local function flag(name, default)
    local value = args:string(name, default)
    if value ~= "true" and value ~= "false" then error(name .. " must be true or false, got '" .. value .. "'", 0) end
    return value == "true"
end
local permute = flag("permute", "true")
local lsa = flag("lsa", "true")
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
