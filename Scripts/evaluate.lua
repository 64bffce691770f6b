-- Evaluate a model's perplexity on a text, the way the pruning papers do.
--
--   shears run Scripts/evaluate.lua model=MODEL text=FILE [seqlen=2048] [chunks=K]
local report = require("report")

local model = shears.load(shears.args:string("model"))
local seqlen = shears.args:integer("seqlen", 2048)
local chunks = shears.args.chunks and shears.args:integer("chunks") or nil

shears.log(tostring(model))
local ppl, details = model:perplexity{ text = shears.args:string("text"), seqlen = seqlen, chunks = chunks }
report.line("perplexity", ppl, details)
