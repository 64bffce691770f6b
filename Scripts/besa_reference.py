#!/usr/bin/env python3
"""Runs the BESA reference code (OpenGVLab/LLMPrune-BESA) on the CPU, for comparison with Shears.

Usage: besa_reference.py BESA_CHECKOUT MODEL_DIR DATA_DIR [--sparsity 0.5] [--chunks 40]
                         [--beta 5] [--d-coef 5] [--epochs 1] [--threads N]

BESA_CHECKOUT is a work tree of the reference repository (its models/sparse_layers.py and
optimizers/prodigy.py are imported unchanged); MODEL_DIR a Hugging Face directory of the model
(`shears convert MODEL --type f32 --out DIR`); DATA_DIR the shared data (the 64 reference windows
of 512 WikiText-2 validation ids, the WikiText-2 test ids).

What runs is the reference's `compress_model` loop with its row-wise settings (`--blocksize 1`,
Wanda metric, sigmoid smoothing, prune_batch_size 1, loss against the dense block on the current
inputs), in fp32 (`--use-fp32`: autocast needs CUDA) and without the loss scaler (fp32 needs
none). Two substitutions, because the reference needs CUDA: its `mask_gen_cuda` extension (per
row, zero the first k positions of the row's sort order) is replaced by the same operation in
torch, and the decoder layer is transformers' LlamaDecoderLayer called with the rotary
embeddings the model computes. Evaluation: the first CHUNKS chunks of 2048 test ids (Wanda's
protocol). Prints one JSON object: ppl, sparsity over the linear matrices, prune seconds.
"""
import argparse
import json
import sys
import time
import types

import numpy as np
import torch


def install_mask_gen():
    """The CPU stand-in of the reference's CUDA `mask_gen_cuda.mask_gen_forward`."""
    def mask_gen_forward(mask, sort_indices, prune_counts):
        columns = mask.shape[1]
        positions = torch.arange(columns, device=mask.device).unsqueeze(0)
        pruned_sorted = positions < prune_counts.reshape(-1, 1)
        result = mask.clone()
        result.scatter_(1, sort_indices, (~pruned_sorted).to(mask.dtype) * torch.gather(mask, 1, sort_indices))
        return [result]
    sys.modules["mask_gen_cuda"] = types.SimpleNamespace(mask_gen_forward=mask_gen_forward)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("besa")
    parser.add_argument("model_dir")
    parser.add_argument("data")
    parser.add_argument("--sparsity", type=float, default=0.5)
    parser.add_argument("--chunks", type=int, default=40)
    parser.add_argument("--beta", type=float, default=5)
    parser.add_argument("--d-coef", type=float, default=5)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--threads", type=int, default=0)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    install_mask_gen()
    sys.path.insert(0, args.besa)
    from models.sparse_layers import SparseLinear
    from optimizers.prodigy import Prodigy
    from transformers import LlamaForCausalLM

    model = LlamaForCausalLM.from_pretrained(args.model_dir, dtype=torch.float32, attn_implementation="sdpa")
    model.train(False)
    valid = np.fromfile(f"{args.data}/wikitext2-valid.smollm2-ids.i32", dtype="<i4")
    offsets = [int(line) for line in open(f"{args.data}/wikitext2-valid.calib-64x512-seed0.offsets") if line.strip()]
    seqlen = 512
    windows = torch.tensor(np.stack([valid[o:o + seqlen] for o in offsets]).astype(np.int64))
    position_ids = torch.arange(seqlen).unsqueeze(0)
    start = time.perf_counter()
    with torch.no_grad():
        inps = model.model.embed_tokens(windows)
        rotary = model.model.rotary_emb(inps[:1], position_ids)
    outs = torch.zeros_like(inps)
    pruned_outs = torch.zeros_like(inps)
    nsamples = len(offsets)

    def run(layer, x):
        return layer(x, attention_mask=None, position_ids=position_ids, position_embeddings=rotary)

    def output(result):
        return result[0] if isinstance(result, tuple) else result

    names = ["self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
             "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj"]
    for index, layer in enumerate(model.model.layers):
        sparse = {}
        for name in names:
            parent, child = name.split(".")
            module = getattr(getattr(layer, parent), child)
            sparse[name] = SparseLinear(module, "Wanda", "row")
            setattr(getattr(layer, parent), child, sparse[name])
        hooks = [s.register_forward_hook(lambda m, i, o: m.add_batch(i[0].data, o.data)) for s in sparse.values()]
        with torch.no_grad():
            for j in range(nsamples):
                outs[j:j + 1] = output(run(layer, inps[j:j + 1]))
        for h in hooks:
            h.remove()
        torch.set_grad_enabled(True)
        for s in sparse.values():
            s.init_learn_sparsity(0.01, blocksize=1, sigmoid_smooth=True)
        params = [s.sparsity_probabilities for s in sparse.values()]
        optimizer = Prodigy(params, 1.0, weight_decay=0, decouple=True, use_bias_correction=False,
                            safeguard_warmup=False, d_coef=args.d_coef)
        total = sum(s.param_num for s in sparse.values())
        first = last = None
        for _ in range(args.epochs):
            for j in range(nsamples):
                pruned = output(run(layer, inps[j:j + 1]))
                sparsity = sum(s.sparsity * (s.param_num / total) for s in sparse.values())
                scale = torch.norm(outs[j:j + 1].reshape(-1, outs.shape[-1]).t(), p=2, dim=1).detach()
                l2 = (((outs[j:j + 1] - pruned) / scale) ** 2).sum() / outs.shape[-1]
                loss = l2 + args.beta * ((sparsity - args.sparsity) / args.sparsity) ** 2
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                first = loss.item() if first is None else first
                last = loss.item()
        torch.set_grad_enabled(False)
        for s in sparse.values():
            s.finish_learn_sparsity()
        for name in names:
            parent, child = name.split(".")
            setattr(getattr(layer, parent), child, sparse[name].layer)
        zeros = sum(int((sparse[n].layer.weight == 0).sum()) for n in names)
        print(f"layer {index}: loss first {first:.6g} last {last:.6g}, sparsity {zeros / total:.4f}",
              file=sys.stderr, flush=True)
        with torch.no_grad():
            for j in range(nsamples):
                pruned_outs[j:j + 1] = output(run(layer, inps[j:j + 1]))
        inps, pruned_outs = pruned_outs, inps
    prune_seconds = time.perf_counter() - start

    test = np.fromfile(f"{args.data}/wikitext2-test.smollm2-ids.i32", dtype="<i4")
    nlls = []
    with torch.no_grad():
        for i in range(args.chunks):
            chunk = torch.tensor(test[i * 2048:(i + 1) * 2048].astype(np.int64)).unsqueeze(0)
            logits = model(input_ids=chunk).logits[0].float()
            nlls.append(torch.nn.functional.cross_entropy(logits[:-1], chunk[0, 1:]).item())
    linear = [p for n, p in model.named_parameters() if n.endswith("proj.weight")]
    zeros = sum(int((p == 0).sum()) for p in linear)
    print(json.dumps({"ppl": float(np.exp(np.mean(nlls))), "sparsity": zeros / sum(p.numel() for p in linear),
                      "prune_seconds": prune_seconds, "threads": torch.get_num_threads()}))


if __name__ == "__main__":
    main()
