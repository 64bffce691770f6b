---@meta
-- LuaLS annotations for the `shears` recipe API: point your editor's Lua language server at this
-- folder (e.g. "workspace.library": ["Scripts/meta"]) to get completion and type checks.
-- Reference with examples: docs/lua-api.md.

---@class shears
---@field version string            The Shears version, e.g. "0.1.0".
---@field args shears.Args          key=value pairs from the command line; extras after -- in its sequence part.
shears = {}

---@class shears.Args: { [string]: string, [integer]: string }
local Args = {}
---Reads `key` as a number (error if missing and no default, or not a number).
---@param key string
---@param default? number
---@return number
function Args:number(key, default) end
---Reads `key` as an integer.
---@param key string
---@param default? integer
---@return integer
function Args:integer(key, default) end
---Reads `key` as a boolean (true/false, yes/no, on/off, 1/0).
---@param key string
---@param default? boolean
---@return boolean
function Args:boolean(key, default) end
---Reads `key` as a string.
---@param key string
---@param default? string
---@return string
function Args:string(key, default) end

---@class shears.Model
---@field arch string        Architecture ("llama").
---@field layers integer     Decoder layers.
---@field hidden integer     Residual width.
---@field heads integer      Query heads.
---@field kv_heads integer   Key/value heads (GQA).
---@field head_dim integer   Width of one head.
---@field ffn integer        MLP inner width.
---@field vocab integer      Vocabulary size.
---@field context integer    Trained context length.
---@field tied boolean       Output projection tied to the embedding.
---@field parameters integer Number of parameters.
---@field path string        Where the model was loaded from.
---@field name string|nil    general.name, if any.
local Model = {}
---Names of all tensors, in file order.
---@return string[]
function Model:tensors() end
---A handle to one tensor (it expires when the model is closed).
---@param name string e.g. "blk.0.ffn_up.weight"
---@return shears.Tensor
function Model:tensor(name) end
---Perplexity with the reference protocol: non-overlapping chunks of `seqlen`, mean of chunk losses.
---@param options { text?: string, ids?: string, tokens?: integer[], seqlen?: integer, chunks?: integer, pre_tokenizer?: string, keep_crlf?: boolean, name?: string }
---@return number ppl
---@return { chunks: integer, seqlen: integer, tokens: integer, seconds: number, chunk_nll: number[] } details
function Model:perplexity(options) end
---Continues `prompt`; greedy when temperature is 0.
---@param prompt string
---@param options? { max_tokens?: integer, seed?: integer, temperature?: number, top_k?: integer, top_p?: number }
---@return string text
---@return integer[] ids
function Model:generate(prompt, options) end
---Writes the model: a path ending in .gguf gives GGUF, any other a Hugging Face directory.
---@param path string
---@param options? { type?: "f32"|"f16"|"bf16"|"q8_0" }
function Model:save(path, options) end
---Sparsity over the seven linear matrices of every layer, and per tensor.
---@return number linear
---@return table<string, number> per_tensor
function Model:sparsity() end
---Releases the model; its tensor handles expire.
function Model:close() end

---@class shears.Tensor
---@field name string
---@field shape integer[]  Dimensions, outermost first ({out, in} for a linear weight).
---@field dtype string     Element type in the source file ("q4_1", "f32", ...).
---@field rows integer
---@field columns integer
---@field numel integer
local Tensor = {}
---Fraction of elements that are exactly zero.
---@return number
function Tensor:sparsity() end
---Frobenius norm.
---@return number
function Tensor:norm() end
function Tensor:close() end

---@class shears.Calibration
---@field seqlen integer  Tokens per window.
---@field samples integer Number of windows (also `#c`).
---@field tokens integer  Total tokens.
---@field source string   Where the windows came from.
local Calibration = {}
---The token ids of window `i` (1-based).
---@param i integer
---@return integer[]
function Calibration:window(i) end
function Calibration:close() end

---Loads a GGUF file or a Hugging Face safetensors directory.
---@param path string
---@return shears.Model
function shears.load(path) end

---Builds calibration windows: random windows of a text (drawn exactly like the reference code for
---a seed), windows at explicit offsets (a list or a file with one per line), or text the model
---generates itself (`generate = true`).
---@param options { model?: shears.Model, text?: string, ids?: string, tokens?: integer[], samples?: integer, seqlen?: integer, seed?: integer, offsets?: integer[]|string, generate?: boolean, temperature?: number, pre_tokenizer?: string, keep_crlf?: boolean }
---@return shears.Calibration
function shears.calibration(options) end

---Token ids of `text` with the model's tokenizer.
---@param model shears.Model
---@param text string
---@return integer[]
function shears.tokenize(model, text) end

---Text of token ids.
---@param model shears.Model
---@param ids integer[]
---@return string
function shears.detokenize(model, ids) end

---Writes its arguments to stderr, prefixed with the recipe's file:line.
---@param ... any
function shears.log(...) end

---Shows a progress bar on stderr (only when stderr is a terminal).
---@param done integer
---@param total integer
---@param label? string
function shears.progress(done, total, label) end

---Monotonic time in seconds.
---@return number
function shears.clock() end

---@class shears.Step
---A pruning step for `shears.prune` (`tostring` shows it as written).
local Step = {}
function Step:close() end

---@class shears.PluginParameter
---@field name string
---@field type "number"|"integer"|"boolean"|"string"
---@field description string
---@field default number|integer|boolean|string
---@field minimum? number  Numbers and integers only.
---@field maximum? number  Numbers and integers only.

---@class shears.PluginCriterionInfo
---@field id string                          What `p:criterion` takes.
---@field name string
---@field version string
---@field description string
---@field statistics ("squared_norms"|"moments"|"gram")[]  Calibration statistics it reads.
---@field parameters shears.PluginParameter[]
---@field thread_safe boolean

---@class shears.Plugin
---@field id string           Reverse-DNS plugin id, e.g. "org.shears.examples.wanda".
---@field name string
---@field version string
---@field description string
---@field path string         The file loaded.
---@field abi string          Plugin ABI it was built for, e.g. "1.0.0".
local Plugin = {}
---Every criterion the plugin offers, in its order.
---@return shears.PluginCriterionInfo[]
function Plugin:criteria() end
---One criterion (error if the plugin has no such id); call it with options to get a step.
---@param id string e.g. "wanda"
---@return shears.PluginCriterion
function Plugin:criterion(id) end
---Releases this handle; criteria and steps made from it keep the library loaded.
function Plugin:close() end

---A plugin criterion: call it with its parameters and the step options to get a `shears.Step`,
---e.g. `p:criterion("wanda"){ sparsity = 0.5 }`.
---@class shears.PluginCriterion
---@field id string
---@field name string
---@field version string
---@field description string
---@field parameters shears.PluginParameter[]
---@overload fun(options?: { sparsity?: number, pattern?: string, selector?: "row"|"matrix"|"plugin", [string]: number|integer|boolean|string }): shears.Step
local PluginCriterion = {}
function PluginCriterion:close() end

---Loads a plugin library. An absolute path is used as given; a relative one is looked up in each
---`shears run --plugin-dir DIR` in order when any is given, else in the recipe's directory.
---@param path string e.g. "libShearsWandaPlugin.so"
---@return shears.Plugin
function shears.plugin(path) end

---DSnoT: refines the mask of the selector before it (grow-and-prune swaps per output row), reference defaults.
---@param options? { max_cycles?: integer, threshold?: number, power?: number, layers?: string|string[], grow_pruned_only?: boolean }
---@return shears.Step
function shears.dsnot(options) end

---OWL: one sparsity per decoder layer from the dense model's outlier ratios (needs calibration data);
---put a method without `sparsity` after it.
---@param options { sparsity?: number, pattern?: string, m?: number, M?: number, lambda?: number }
---@return shears.Step
function shears.owl(options) end

---A given sparsity per decoder layer (one value per layer, layer 0 first), or `fn(layer, layers)`
---called once per layer of `model` (0-based); put a method without `sparsity` after it.
---@param sparsities number[]
---@return shears.Step
---@overload fun(model: shears.Model, fn: fun(layer: integer, layers: integer): number): shears.Step
function shears.layer_sparsity(sparsities) end

---Magnitude pruning (no calibration data needed): per matrix (`≤ τ`, the reference baseline) or per row.
---Without `sparsity` (unstructured) it takes the sparsity from an allocator before it (shears.owl, shears.layer_sparsity).
---@param options? { sparsity?: number, pattern?: string, scope?: "matrix"|"row" }
---@return shears.Step
function shears.magnitude(options) end

---Wanda: |W|·‖X_j‖ per output row, or N:M; `variant` is the reference's adaptive-α selection.
---@param options? { sparsity?: number, pattern?: string, variant?: boolean }
---@return shears.Step
function shears.wanda(options) end

---SparseGPT: chooses the mask block by block while updating the kept weights (OBS with a Cholesky of H⁻¹).
---@param options? { sparsity?: number, pattern?: string, blocksize?: integer, damp?: number }
---@return shears.Step
function shears.sparsegpt(options) end

---RIA: relative importance times ‖X_j‖^a, per matrix by default; `permute` adds the N:M channel
---permutation (zig-zag, then `lsa` linear-sum-assignment rounds).
---@param options? { sparsity?: number, pattern?: string, a?: number, scope?: "matrix"|"row", permute?: boolean, lsa?: boolean }
---@return shears.Step
function shears.ria(options) end

---A SparseGPT-style update of the kept weights on the mask chosen by the steps before it.
---@param options? { blocksize?: integer, damp?: number }
---@return shears.Step
function shears.reconstruct(options) end

---@class shears.PruneReport
---@field sparsity number              Fraction of zeros over the pruned matrices.
---@field seconds number
---@field steps string[]
---@field times { forwards: number, statistics: number, selection: number, reconstruction: number }
---@field layers table[]               Per layer: layer, error, matrices, seconds (and the allocator's targets).
---@field calibration_windows integer
---@field calibration_tokens integer

---Prunes `model` in place, layer by layer, with the steps in order (allocator, criterion, selector,
---refiner, reconstructor). `calibration` may be nil when no step needs data (magnitude).
---@param model shears.Model
---@param calibration shears.Calibration|nil
---@param spec { [integer]: shears.Step, targets?: string[], ignore?: string[], on_layer?: fun(layer: integer, report: table), report?: string, journal?: string, resume?: boolean }
---@return shears.PruneReport
function shears.prune(model, calibration, spec) end
