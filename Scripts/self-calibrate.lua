-- Build a calibration set with no data at all: text sampled from the model itself
-- (self-generated calibration), then measure the model on held-out self-generated text.
--
--   shears run Scripts/self-calibrate.lua model=MODEL [samples=8] [seqlen=128] [seed=0]
local report = require("report")

local model = shears.load(shears.args:string("model"))
local samples = shears.args:integer("samples", 8)
local seqlen = shears.args:integer("seqlen", 128)
local seed = shears.args:integer("seed", 0)

local t0 = shears.clock()
local calibration = shears.calibration{ generate = true, samples = samples, seqlen = seqlen, seed = seed }
shears.log(string.format("%d windows of %d tokens in %.1f s", #calibration, calibration.seqlen, shears.clock() - t0))
shears.log("first window: " .. shears.detokenize(model, calibration:window(1)):sub(1, 120))

-- A different seed gives held-out text, so the perplexity is not measured on calibration data.
local heldout = shears.calibration{ generate = true, samples = 2, seqlen = seqlen, seed = seed + 1 }
local ids = {}
for i = 1, #heldout do
    for _, id in ipairs(heldout:window(i)) do ids[#ids + 1] = id end
end
local ppl, details = model:perplexity{ tokens = ids, seqlen = seqlen }
report.line("perplexity on held-out self-generated text", ppl, details)
