-- Shared set-up of the example pruning recipes: calibration and evaluation data from the recipe's
-- arguments, so that every recipe runs with no data at all (self-generated text) or on files.
--
--   calib=TEXT samples=32 seqlen=256 seed=0         calibration windows (self-generated without calib)
--   eval=TEXT eval_seqlen=512 eval_chunks=8         evaluation text (held-out self-generated without eval)
local setup = {}

--- The calibration set: random windows of `calib` if given, else samples the model generates.
---@param args shears.Args
---@return shears.Calibration
function setup.calibration(args)
    local options = { samples = args:integer("samples", 32), seqlen = args:integer("seqlen", 256), seed = args:integer("seed", 0) }
    if args.calib then options.text = args.calib else options.generate = true end
    local calibration = shears.calibration(options)
    shears.log("calibration: " .. calibration.source)
    return calibration
end

--- Options for `m:perplexity`: `eval` if given, else held-out self-generated text (seed + 1000,
--- so it never overlaps the calibration samples).
---@param args shears.Args
---@return table
function setup.evaluation(args)
    local chunks = args:integer("eval_chunks", 8)
    if args.eval then
        return { text = args.eval, seqlen = args:integer("eval_seqlen", 512), chunks = chunks }
    end
    local seqlen = args:integer("eval_seqlen", args:integer("seqlen", 256))
    local heldout = shears.calibration{ generate = true, samples = chunks, seqlen = seqlen, seed = args:integer("seed", 0) + 1000 }
    local ids = {}
    for i = 1, #heldout do
        for _, id in ipairs(heldout:window(i)) do ids[#ids + 1] = id end
    end
    return { tokens = ids, seqlen = seqlen, name = "held-out self-generated" }
end

return setup
