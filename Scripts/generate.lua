-- Continue a prompt, greedily or sampled with a seed.
--
--   shears run Scripts/generate.lua model=MODEL prompt="Once upon a time" [max_tokens=48] [temperature=0] [seed=0]
local model = shears.load(shears.args:string("model"))
local text, ids = model:generate(shears.args:string("prompt", "The capital of France is"), {
    max_tokens = shears.args:integer("max_tokens", 48),
    temperature = shears.args:number("temperature", 0),
    seed = shears.args:integer("seed", 0),
})
print(shears.args:string("prompt", "The capital of France is") .. text)
shears.log(string.format("%d tokens", #ids))
