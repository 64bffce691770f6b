#!/usr/bin/env python3
"""PyTorch autograd reference for Shears' gradients.

Usage: torch_gradients.py MODEL_DIR IDS_FILE --seqlen N --windows K --out GRADS.safetensors

Loads the Hugging Face model directory MODEL_DIR (e.g. written by Shears from a GGUF) with
transformers' AutoModelForCausalLM (LLaMA, Mistral, Qwen2, Qwen3) in float32 and eager attention, takes K consecutive windows of N
token ids from IDS_FILE (raw little-endian int32), and computes the gradient of the mean
next-token negative log-likelihood over every predicted token of every window (N-1 per window)
with respect to every parameter. Writes the gradients under the model's Hugging Face parameter
names as F32 safetensors (a tied lm_head appears once, as model.embed_tokens.weight), and
prints one JSON object: {"loss": mean NLL, "tensors": count, "seconds": forward+backward wall time
of the windows (model loading and saving excluded), "threads": torch's CPU threads}.
"""
import argparse
import json
import time

import numpy as np
import torch
from safetensors.torch import save_file
from transformers import AutoModelForCausalLM


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("model_dir")
    parser.add_argument("ids_file")
    parser.add_argument("--seqlen", type=int, required=True)
    parser.add_argument("--windows", type=int, required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()

    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_pretrained(args.model_dir, torch_dtype=torch.float32, attn_implementation="eager")
    model.train(False)
    ids = np.fromfile(args.ids_file, dtype="<i4")
    needed = args.seqlen * args.windows
    if ids.size < needed:
        raise SystemExit(f"{args.ids_file}: {ids.size} ids, need {needed}")
    windows = torch.from_numpy(ids[:needed].astype(np.int64)).reshape(args.windows, args.seqlen)
    predictions = args.windows * (args.seqlen - 1)
    total = 0.0
    start = time.perf_counter()
    for window in windows:
        logits = model(input_ids=window.unsqueeze(0)).logits[0]
        nll = torch.nn.functional.cross_entropy(logits[:-1], window[1:], reduction="sum")
        (nll / predictions).backward()
        total += nll.item()
    seconds = time.perf_counter() - start
    gradients = {name: p.grad.detach().contiguous() for name, p in model.named_parameters() if p.grad is not None}
    save_file(gradients, args.out)
    print(json.dumps({"loss": total / predictions, "tensors": len(gradients), "seconds": seconds, "threads": torch.get_num_threads()}))


if __name__ == "__main__":
    main()
