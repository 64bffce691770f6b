-- Structured pruning: a smaller model, dense and pruned perplexity at two window lengths,
-- parameter counts, and the GGUF (`deci` when layers differ, which stock llama.cpp runs).
--
--   shears run Scripts/prune-structured.lua model=MODEL ids=VALID.i32 eval=TEST.i32 [out=pruned.gguf]
--       [method=llm_pruner|flap|blocks|shortened|minitron|hidden|scop|heads|kv_groups|channels]
--       [ratio=0.25] [params=P] [remove=6] [round_to=1]
--       [layers=4-27] [importance=param_first] [structure=AL-AM] [metric=WIFV] [criterion=wanda_sp]
--       [knockoffs=unpaired] [units=heads,channels] [steps=300] [batch=8] [lr=0.01] [scale=true]
--       [samples=10] [seqlen=64] [seed=42] [chunks=40] [type=f16] [dense=true]
--
-- The defaults are LLM-Pruner's recommended recipe adapted to a 30-layer model (ratio 0.25, the
-- first four and the last two blocks kept) with its calibration size (10 windows of 64 tokens).
-- FLAP's reference configuration: method=flap ratio=0.2 structure=UL-UM samples=1024 seqlen=128
-- seed=0. Shortened LLaMA's: method=blocks remove=6 samples=10 seqlen=128 seed=1234 (criterion=ppl,
-- taylor+ or bi). `params=P` (a fraction of all parameters) replaces ratio or remove. `ids` are the
-- calibration token ids (int32), `eval` the evaluation ids: the first `chunks` chunks of 2048
-- tokens, and the same tokens cut into chunks of 128 (the window the structured papers report).
local args = shears.args
local model = shears.load(args:string("model"))
local chunks = args:integer("chunks", 40)
local eval = args:string("eval")
local method = args:string("method", "llm_pruner")

local function perplexities()
    local long = model:perplexity{ ids = eval, seqlen = 2048, chunks = chunks }
    local short = model:perplexity{ ids = eval, seqlen = 128, chunks = chunks * 16 }
    return long, short
end

local function step()
    local params = args:number("params", 0)
    local function budget(default)
        if params > 0 then return nil, params end
        return args:number("ratio", default), nil
    end
    if method == "llm_pruner" then
        local ratio, fraction = budget(0.25)
        return shears.llm_pruner{
            ratio = ratio, params = fraction, layers = args:string("layers", "4-27"),
            importance = args:string("importance", "param_first"),
        }
    elseif method == "flap" then
        local ratio, fraction = budget(0.2)
        return shears.flap{
            ratio = ratio, params = fraction, structure = args:string("structure", "AL-AM"),
            metric = args:string("metric", "WIFV"), bias = args:boolean("bias", true),
        }
    elseif method == "blocks" or method == "shortened" then
        local remove = params > 0 and nil or args:integer("remove", 6)
        return shears[method]{
            remove = remove, params = params > 0 and params or nil, criterion = args:string("criterion", "ppl"),
        }
    elseif method == "minitron" then
        local ratio, fraction = budget(0.2)
        return shears.minitron{ ratio = ratio, params = fraction, round_to = args:integer("round_to", 1) }
    elseif method == "hidden" then
        return shears.hidden{ ratio = args:number("ratio", 0.2), round_to = args:integer("round_to", 1) }
    elseif method == "scop" then
        local ratio, fraction = budget(0.2)
        return shears.scop{
            ratio = ratio, params = fraction, units = args:string("units", "heads,channels"),
            knockoffs = args:string("knockoffs", "unpaired"), steps = args:integer("steps", 300),
            batch = args:integer("batch", 8), lr = args:number("lr", 0.01), scale = args:boolean("scale", true),
        }
    elseif method == "heads" or method == "kv_groups" or method == "channels" then
        return shears[method]{ ratio = args:number("ratio", 0.25), criterion = args:string("criterion", "wanda_sp") }
    end
    error("method must be llm_pruner, flap, blocks, shortened, minitron, hidden, scop, heads, kv_groups or channels, got "
        .. method)
end

local dense_parameters = model.parameters
if args:boolean("dense", true) then
    local dense_long, dense_short = perplexities()
    print(string.format("dense: ppl@2048 %.4f, ppl@128 %.4f, %d parameters", dense_long, dense_short, dense_parameters))
end

local calibration = shears.calibration{
    model = model, ids = args:string("ids"), samples = args:integer("samples", 10),
    seqlen = args:integer("seqlen", 64), seed = args:integer("seed", 42),
}
local report = shears.prune(model, calibration, { step() })
for _, note in ipairs(report.model_notes) do print(note) end
if #report.removed_blocks > 0 then print("removed blocks " .. table.concat(report.removed_blocks, ", ")) end
local long, short = perplexities()
print(string.format("pruned: ppl@2048 %.4f, ppl@128 %.4f, %d parameters (%.2f%% removed), %.1f s",
    long, short, model.parameters, 100 * (1 - model.parameters / dense_parameters), report.seconds))
local out = args:string("out", "pruned.gguf")
model:save(out, { type = args:string("type", "f16") })
print("written " .. out .. " (" .. model.arch .. ")")
