-- Structured pruning with LLM-Pruner (block-wise Taylor importance): a smaller model, dense and
-- pruned perplexity at two window lengths, parameter counts, and the GGUF (`deci` when layers
-- differ, which stock llama.cpp runs).
--
--   shears run Scripts/prune-llm-pruner.lua model=MODEL ids=VALID.i32 eval=TEST.i32 [out=pruned.gguf]
--       [ratio=0.25] [layers=4-27] [importance=param_first] [samples=10] [seqlen=64] [seed=42]
--       [chunks=40] [type=f16]
--
-- The defaults are LLM-Pruner's recommended recipe adapted to a 30-layer model (ratio 0.25, the
-- first four and the last two blocks kept) with its calibration size (10 windows of 64 tokens);
-- `ids` are the calibration token ids (int32), `eval` the evaluation ids: the first `chunks`
-- chunks of 2048 tokens, and the same tokens cut into chunks of 128 (the window the structured
-- pruning papers report).
local args = shears.args
local model = shears.load(args:string("model"))
local chunks = args:integer("chunks", 40)
local eval = args:string("eval")

local function perplexities()
    local long = model:perplexity{ ids = eval, seqlen = 2048, chunks = chunks }
    local short = model:perplexity{ ids = eval, seqlen = 128, chunks = chunks * 16 }
    return long, short
end

local dense_long, dense_short = perplexities()
local dense_parameters = model.parameters
print(string.format("dense: ppl@2048 %.4f, ppl@128 %.4f, %d parameters", dense_long, dense_short, dense_parameters))

local calibration = shears.calibration{
    model = model, ids = args:string("ids"), samples = args:integer("samples", 10),
    seqlen = args:integer("seqlen", 64), seed = args:integer("seed", 42),
}
local report = shears.prune(model, calibration, {
    shears.llm_pruner{
        ratio = args:number("ratio", 0.25), layers = args:string("layers", "4-27"),
        importance = args:string("importance", "param_first"),
    },
})
for _, note in ipairs(report.model_notes) do print("removed " .. note) end
local long, short = perplexities()
print(string.format("pruned: ppl@2048 %.4f, ppl@128 %.4f, %d parameters (%.2f%% removed), %.1f s",
    long, short, model.parameters, 100 * (1 - model.parameters / dense_parameters), report.seconds))
local out = args:string("out", "pruned.gguf")
model:save(out, { type = args:string("type", "f16") })
print("written " .. out .. " (" .. model.arch .. ")")
