#!/usr/bin/env python3
"""Runs the reference code of LLM-Pruner, FLAP and Shortened LLaMA on SmolLM2, for comparison with Shears.

Usage: structured_reference.py METHOD CHECKOUT MODEL_DIR DATA_DIR [--work DIR] [--chunks 40] [--threads N]

METHOD is llm-pruner, flap or shortened; CHECKOUT a work tree of the matching reference repository
(horseee/LLM-Pruner, CASIA-IVA-Lab/FLAP, Nota-NetsPresso/shortened-llm), whose code is imported and
run unchanged; MODEL_DIR a Hugging Face directory of the model (`shears convert MODEL --type f32
--out DIR`); DATA_DIR the shared data (WikiText-2 validation and test ids). --work is a scratch
directory for the files the reference scripts write (logs, block orders, the pruned checkpoint).

Each configuration is the one `Scripts/prune-structured.lua` runs and `docs/results.md` reports:

  llm-pruner  llama3.py (its GQA script: k_proj roots, whole KV groups), --block_wise
              --pruner_type taylor --taylor param_first --pruning_ratio 0.25, MLP layers
              [4, 28) (its "keep the first 4 and the last 2 blocks" on 30 layers) and no
              attention layer (at this ratio the reference removes no KV group of SmolLM2 but
              fails on the attempt; see run_llm_pruner), 10 windows of 64 tokens, seed 42;
  flap        lib/prune.py prune_flap, WIFV, UL-UM, --pruning_ratio 0.2, bias compensation,
              1024 windows of 128 tokens, seed 0;
  shortened   src/anal_block_sensitivity_ppl.py then src/block_prune.py (the "+" heuristic on),
              perplexity criterion, 6 blocks removed, 10 windows of 128 tokens, seed 1234.

Calibration windows come from the WikiText-2 validation ids as `random.seed(s); randint(0, n -
len - 1)` draws them (what `shears.calibration{ seed = s }` does), in place of the papers'
BookCorpus / WikiText-2 train (not available offline): the reference's data loader is replaced by
these windows. Everything runs on the CPU in fp32. The other substitutions, each the minimum the
reference needs to run with transformers 5 on a CPU, are named where they are made (`patch_*`).

Evaluation: the first CHUNKS chunks of 2048 WikiText-2 test ids, and the same tokens cut into
chunks of 128. Prints one JSON object: parameters (every tensor, biases included, the tied output
head once), the units or blocks removed per layer, ppl@2048, ppl@128 and the prune seconds.
"""
import argparse
import contextlib
import json
import os
import random
import runpy
import sys
import time
import types

import numpy as np
import torch


def windows(data, samples, seqlen, seed):
    """The calibration windows of `shears.calibration{ samples, seqlen, seed }` as int64 rows."""
    ids = np.fromfile(f"{data}/wikitext2-valid.smollm2-ids.i32", dtype="<i4")
    random.seed(seed)
    offsets = [random.randint(0, len(ids) - seqlen - 1) for _ in range(samples)]
    return torch.tensor(np.stack([ids[o:o + seqlen] for o in offsets]).astype(np.int64))


def perplexities(model, data, chunks):
    """Perplexity on the first `chunks` chunks of 2048 test ids, and on the same ids in chunks of 128."""
    test = np.fromfile(f"{data}/wikitext2-test.smollm2-ids.i32", dtype="<i4")[:chunks * 2048].astype(np.int64)
    model.eval()
    result = {}
    with torch.no_grad():
        for seqlen, batch in ((2048, 1), (128, 32)):
            rows = torch.tensor(test).reshape(-1, seqlen)
            nlls = []
            for start in range(0, rows.shape[0], batch):
                chunk = rows[start:start + batch]
                logits = model(input_ids=chunk).logits.float()
                loss = torch.nn.functional.cross_entropy(
                    logits[:, :-1].reshape(-1, logits.shape[-1]), chunk[:, 1:].reshape(-1), reduction="none")
                nlls.extend(loss.reshape(chunk.shape[0], -1).mean(dim=1).tolist())
            result[f"ppl@{seqlen}"] = float(np.exp(np.mean(nlls)))
    return result


def parameters(model):
    """Every parameter tensor's size, biases included; tied tensors once."""
    return sum(p.numel() for p in model.parameters())


def removed_rows(dense, pruned):
    """Indices of the rows of `dense` that are not rows of `pruned` (kept rows are unchanged copies)."""
    kept = {tuple(row.tolist()) for row in pruned}
    return [i for i, row in enumerate(dense) if tuple(row.tolist()) not in kept]


def layer_report(dense_state, model, first_layer=0):
    """Per layer: the FFN channels and query/KV rows removed, found by matching rows against the dense weights."""
    report = []
    for index, layer in enumerate(model.model.layers):
        prefix = f"model.layers.{first_layer + index}."
        gate = removed_rows(dense_state[prefix + "mlp.gate_proj.weight"], layer.mlp.gate_proj.weight.data)
        k_rows = removed_rows(dense_state[prefix + "self_attn.k_proj.weight"], layer.self_attn.k_proj.weight.data)
        report.append({"ffn": layer.mlp.gate_proj.weight.shape[0], "ffn_removed": gate,
                       "kv_rows": layer.self_attn.k_proj.weight.shape[0], "kv_rows_removed": k_rows,
                       "q_rows": layer.self_attn.q_proj.weight.shape[0]})
    return report


def patch_datasets():
    """The reference modules import Hugging Face `datasets` at the top; nothing of it is used here."""
    sys.modules.setdefault("datasets", types.SimpleNamespace(load_dataset=None))


def dense_state(model_dir):
    from transformers import LlamaForCausalLM
    model = LlamaForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    return {k: v.clone() for k, v in model.state_dict().items()}


def run_llm_pruner(args):
    patch_datasets()
    sys.path.insert(0, args.checkout)
    import transformers
    import LLMPruner.datasets.example_samples as samples
    import LLMPruner.evaluator.ppl as ppl

    calibration = windows(args.data, 10, 64, 42)
    # Patch: the windows replace get_examples' BookCorpus draw (same count and length).
    samples.get_examples = lambda dataset, tokenizer, n_samples, seq_len=128: calibration[:n_samples, :seq_len]

    # Patch: llama3.py loads fp16 with device_map="auto" (a GPU); here fp32 on the CPU, and the eager
    # attention (repeat_kv's expand, which the dependency graph follows from k_proj to q_proj/o_proj),
    # and no KV cache in the outputs: transformers 5 returns it as a Cache object, which the
    # dependency tracer's output flattening takes for a tensor.
    loader = transformers.LlamaForCausalLM.from_pretrained.__func__

    def from_pretrained(cls, name, **kwargs):
        model = loader(cls, name, dtype=torch.float32, attn_implementation="eager")
        model.config.use_cache = False
        return model
    transformers.LlamaForCausalLM.from_pretrained = classmethod(from_pretrained)

    outcome = {}
    start = time.perf_counter()

    # Patch: llama3.py's closing PPLMetric (WikiText-2 and PTB through `datasets`) becomes the
    # protocol of this script; it receives the pruned model.
    def metric(model, tokenizer, datasets, max_seq_len, device="cuda"):
        outcome["prune_seconds"] = time.perf_counter() - start
        outcome["parameters"] = parameters(model)
        outcome["layers"] = layer_report(dense_state(args.model_dir), model)
        print(json.dumps(outcome), file=sys.stderr, flush=True)  # before the long evaluation
        outcome.update(perplexities(model, args.data, args.chunks))
        return {"wikitext2": outcome["ppl@128"]}
    ppl.PPLMetric = metric

    # The attention layer range is empty: at ratio 0.25 a layer's k_proj (192 rows) loses
    # 192 - int(192 * 0.75) = 48 rows, less than one 64-row KV group, and the reference's
    # MetaPruner.prune_local then selects no group and fails on torch.cat of an empty list. An
    # empty range is what "no KV group removed" amounts to; the MLP groups are unaffected.
    os.chdir(args.work)
    sys.argv = ["llama3.py", "--base_model", args.model_dir, "--pruning_ratio", "0.25", "--block_wise",
                "--block_mlp_layer_start", "4", "--block_mlp_layer_end", "28",
                "--block_attention_layer_start", "4", "--block_attention_layer_end", "4",
                "--pruner_type", "taylor", "--taylor", "param_first", "--num_examples", "10",
                "--device", "cpu", "--eval_device", "cpu", "--seed", "42",
                "--save_ckpt_log_name", "smollm2_llm_pruner"]
    runpy.run_path(os.path.join(args.checkout, "llama3.py"), run_name="__main__")
    return outcome


def patch_decoder_layer(model):
    """Patch: FLAP calls each decoder layer with position_ids only; transformers 5 layers take the
    rotary (cos, sin) from the model, so the layer computes them from position_ids when not given."""
    from transformers.models.llama.modeling_llama import LlamaDecoderLayer
    forward = LlamaDecoderLayer.forward
    rotary = model.model.rotary_emb

    def layer_forward(self, hidden_states, *rest, position_ids=None, position_embeddings=None, **kwargs):
        if position_embeddings is None:
            if position_ids is None:
                position_ids = torch.arange(hidden_states.shape[1]).unsqueeze(0)
            position_embeddings = rotary(hidden_states, position_ids)
        return forward(self, hidden_states, *rest, position_ids=position_ids,
                       position_embeddings=position_embeddings, **kwargs)
    LlamaDecoderLayer.forward = layer_forward


def run_flap(args):
    patch_datasets()
    sys.path.insert(0, args.checkout)
    import inspect

    import lib.prune as prune
    from transformers import LlamaForCausalLM

    samples, seqlen = 1024, 128
    calibration = windows(args.data, samples, seqlen, 0)
    # Patch: the windows replace get_loaders' WikiText-2 train draw (its targets are unused by FLAP).
    prune.get_loaders = lambda *a, **k: ([(row.unsqueeze(0), None) for row in calibration], None)
    # Patch: the code sorts on the GPU (`.cuda()`); on the CPU that is the identity.
    torch.Tensor.cuda = lambda self, *a, **k: self

    model = LlamaForCausalLM.from_pretrained(args.model_dir, dtype=torch.float32, attn_implementation="sdpa")
    model.eval()
    # As FLAP's main.get_llm: zero biases on o_proj and down_proj for the compensation to fill.
    for layer in model.model.layers:
        for linear in (layer.self_attn.o_proj, layer.mlp.down_proj):
            linear.bias = torch.nn.Parameter(torch.zeros(linear.out_features))
    model.seqlen = seqlen
    patch_decoder_layer(model)

    # Patch (GQA): FLAP's code is for multi-head attention with 128-dim heads. SmolLM2's removable
    # attention unit is a KV group (3 query heads of 64 = 192 o_proj inputs), scored by the sum over
    # its channels (as the GQA fork does, up to the mean's constant factor), counted per layer
    # through `self_attn.num_heads`, which transformers 5 no longer sets.
    config = model.config
    group_channels = config.num_attention_heads // config.num_key_value_heads * config.head_dim
    for layer in model.model.layers:
        layer.self_attn.num_heads = config.num_key_value_heads
    source = inspect.getsource(prune.prune_flap)
    assert source.count("reshape(-1, 128)") == 2, "prune_flap changed: its head size patch no longer applies"
    exec(compile(source.replace("reshape(-1, 128)", f"reshape(-1, {group_channels})"), prune.__file__, "exec"),
         prune.__dict__)
    compress = prune.compress

    # Patch (GQA): compress() cuts q, k and v rows with one head mask; no KV group is removed at
    # ratio 0.2 (int(0.2 * 3) = 0), so a layer keeping all groups is compressed without the mask
    # (its o_proj bias stays zero, as the reference's would). Removing a group is not supported.
    # Patch (fp32): the code keeps the channel means in fp16 (its model's dtype on the GPU); they
    # keep that rounding and are cast to the fp32 weights for the bias product.
    def gqa_compress(layer, attn_mask, mlp_mask, attn_mean_inp, mlp_mean_inp, device, bias=True, unstr=False):
        if attn_mask is not None:
            if not bool(attn_mask.all()):
                raise NotImplementedError("FLAP's reference compress() cannot remove a KV group of a GQA layer")
            attn_mask = None
        if mlp_mean_inp is not None:
            mlp_mean_inp = mlp_mean_inp.float()
        return compress(layer, attn_mask, mlp_mask, attn_mean_inp, mlp_mean_inp, device, bias, unstr)
    prune.compress = gqa_compress

    dense = {k: v.clone() for k, v in model.state_dict().items()}
    flap = argparse.Namespace(nsamples=samples, seed=0, pruning_ratio=0.2, remove_heads=8, metrics="WIFV",
                              structure="UL-UM", prune_method="flap", unstr=False)
    start = time.perf_counter()
    with torch.no_grad():
        prune.prune_flap(flap, model, None, torch.device("cpu"))
    outcome = {"prune_seconds": time.perf_counter() - start, "parameters": parameters(model),
               "layers": layer_report(dense, model)}
    outcome.update(perplexities(model, args.data, args.chunks))
    return outcome


def run_shortened(args):
    patch_datasets()
    source = os.path.join(args.checkout, "src")
    sys.path.insert(0, source)
    # Patch: utils imports the repository's own copy of peft (for LoRA checkpoints, unused here),
    # written for an older transformers.
    sys.modules["LLMPruner.peft"] = types.SimpleNamespace(PeftModel=None)
    import transformers
    import dataset
    import utils

    calibration = windows(args.data, 10, 128, 1234)
    # Patch: the windows replace get_examples' BookCorpus draw (same count and length).
    dataset.get_examples = lambda dataset, tokenizer, n_samples, seq_len=128, **kwargs: calibration[:n_samples, :seq_len]
    # Patch: the checkpoint has a fast tokenizer (tokenizer.json) only; it is not used to prune.
    utils.LlamaTokenizer = transformers.AutoTokenizer
    removed = {}
    get_block_pruned_network = utils.get_block_pruned_network

    def recorded(model_orig, unimportance_order, num_pruned_blocks=1, **kwargs):
        removed["blocks"] = sorted(unimportance_order[:num_pruned_blocks])
        return get_block_pruned_network(model_orig, unimportance_order, num_pruned_blocks, **kwargs)
    utils.get_block_pruned_network = recorded

    os.chdir(args.work)
    sensitivity = os.path.join(args.work, "block_sensitivity")
    pruned = os.path.join(args.work, "pruned")
    start = time.perf_counter()
    sys.argv = ["anal_block_sensitivity_ppl.py", "--base_model", args.model_dir, "--device", "cpu",
                "--seed", "1234", "--num_calib_data", "10", "--max_seq_len", "128", "--output_dir", sensitivity]
    runpy.run_path(os.path.join(source, "anal_block_sensitivity_ppl.py"), run_name="__main__")
    sys.argv = ["block_prune.py", "--base_model", args.model_dir, "--device", "cpu", "--seed", "1234",
                "--num_pruned_blocks", "6", "--block_order_csv", os.path.join(sensitivity, "block_order.csv"),
                "--output_dir", pruned, "--skip_validation"]
    runpy.run_path(os.path.join(source, "block_prune.py"), run_name="__main__")
    seconds = time.perf_counter() - start
    with open(os.path.join(sensitivity, "all_ppl_unsorted.csv")) as file:
        next(file)
        scores = [float(line.split(",")[1]) for line in file if line.strip()]
    model = transformers.LlamaForCausalLM.from_pretrained(pruned, dtype=torch.float32)
    outcome = {"prune_seconds": seconds, "parameters": parameters(model), "removed_blocks": removed["blocks"],
               "calibration_ppl_without_block": scores}
    outcome.update(perplexities(model, args.data, args.chunks))
    return outcome


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("method", choices=["llm-pruner", "flap", "shortened"])
    parser.add_argument("checkout")
    parser.add_argument("model_dir")
    parser.add_argument("data")
    parser.add_argument("--work", default=".")
    parser.add_argument("--chunks", type=int, default=40)
    parser.add_argument("--threads", type=int, default=0)
    args = parser.parse_args()
    args.checkout, args.model_dir, args.data, args.work = (
        os.path.abspath(p) for p in (args.checkout, args.model_dir, args.data, args.work))
    os.makedirs(args.work, exist_ok=True)
    if args.threads:
        torch.set_num_threads(args.threads)
    run = {"llm-pruner": run_llm_pruner, "flap": run_flap, "shortened": run_shortened}[args.method]
    with contextlib.redirect_stdout(sys.stderr):  # the reference code's own prints
        outcome = run(args)
    outcome["method"] = args.method
    outcome["threads"] = torch.get_num_threads()
    print(json.dumps(outcome))


if __name__ == "__main__":
    main()
