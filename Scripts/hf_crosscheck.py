#!/usr/bin/env python3
"""Independent check of a Hugging Face model directory written by Shears.

Usage: hf_crosscheck.py DIR [--logits ID,ID,...] [--resave OUT]

Reads DIR with the reference `safetensors` library (which validates every header) and numpy and,
when importable, with `transformers` (AutoConfig, AutoTokenizer and, if torch is installed too,
LlamaForCausalLM with an fp32 forward pass over the given token ids). Prints one JSON object:

  safetensors: {version, files, metadata, index (weight_map, total_size) or null,
                tensors: {name: {dtype, shape, sum, head}}}   # sum in float64, head = first 4 values
  config:      AutoConfig fields, or {"error": ...} / null when transformers is missing
  tokenizer:   {class, vocab_size, bos_token, eos_token, ids of a sample text}, or as above
  model:       {logits: first 4 logits at each position, argmax per position}, or as above

  resaved:     with --resave OUT, transformers' own save_pretrained of the loaded model and tokenizer
               into OUT (fp32 safetensors), so that Shears can be tested on a directory written by
               transformers itself: {directory, files} or {"error": ...}

Exit status 0 when the safetensors part succeeded (the optional parts report errors inside the
JSON), 1 otherwise.
"""
import argparse
import json
import os
import sys

import numpy as np
import safetensors

SAMPLE_TEXT = "The capital of France is Paris. Hello world!"


def decode(dtype, shape, data):
    """Raw little-endian bytes of one tensor as a float32 numpy array."""
    if dtype == "F32":
        values = np.frombuffer(data, dtype="<f4")
    elif dtype == "F16":
        values = np.frombuffer(data, dtype="<f2").astype(np.float32)
    elif dtype == "BF16":
        values = (np.frombuffer(data, dtype="<u2").astype(np.uint32) << 16).view(np.float32)
    else:
        raise ValueError(f"unexpected dtype {dtype}")
    return values.reshape(shape)


def read_safetensors(directory):
    index_path = os.path.join(directory, "model.safetensors.index.json")
    index = None
    if os.path.exists(index_path):
        with open(index_path) as f:
            index = json.load(f)
        files = sorted(set(index["weight_map"].values()))
    else:
        files = ["model.safetensors"]
    tensors, metadata = {}, None
    for name in files:
        path = os.path.join(directory, name)
        with safetensors.safe_open(path, framework="numpy") as handle:
            if metadata is None:
                metadata = handle.metadata()
        with open(path, "rb") as f:
            for tensor_name, spec in safetensors.deserialize(f.read()):
                if tensor_name in tensors:
                    raise ValueError(f"{tensor_name} appears in two shards")
                if index is not None and index["weight_map"].get(tensor_name) != name:
                    raise ValueError(f"{tensor_name} is in {name} but the index says otherwise")
                values = decode(spec["dtype"], spec["shape"], spec["data"])
                tensors[tensor_name] = {
                    "dtype": spec["dtype"],
                    "shape": list(spec["shape"]),
                    "sum": float(values.astype(np.float64).sum()),
                    "head": [float(v) for v in values.reshape(-1)[:4]],
                }
    return {
        "version": safetensors.__version__,
        "files": files,
        "metadata": metadata,
        "index": index,
        "tensors": tensors,
    }


def guarded(function):
    try:
        return function()
    except ImportError:
        return None
    except Exception as error:  # report, do not hide: the caller decides whether it matters
        return {"error": f"{type(error).__name__}: {error}"}


def read_config(directory):
    from transformers import AutoConfig

    config = AutoConfig.from_pretrained(directory)
    keys = ["model_type", "hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
            "num_key_value_heads", "head_dim", "rms_norm_eps", "max_position_embeddings", "vocab_size",
            "tie_word_embeddings", "bos_token_id", "eos_token_id"]
    result = {key: getattr(config, key, None) for key in keys}
    rope = getattr(config, "rope_parameters", None) or {}
    result["rope_theta"] = getattr(config, "rope_theta", None) or rope.get("rope_theta")
    result["architectures"] = config.architectures
    return result


def read_tokenizer(directory):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(directory)
    return {
        "class": type(tokenizer).__name__,
        "vocab_size": len(tokenizer),
        "bos_token": tokenizer.bos_token,
        "eos_token": tokenizer.eos_token,
        "sample_text": SAMPLE_TEXT,
        "ids": tokenizer(SAMPLE_TEXT, add_special_tokens=False)["input_ids"],
    }


def run_model(directory, ids):
    import torch
    from transformers import LlamaForCausalLM

    torch.set_num_threads(2)
    model = LlamaForCausalLM.from_pretrained(directory, dtype=torch.float32)
    model.eval()
    with torch.no_grad():
        logits = model(torch.tensor([ids])).logits[0]
    return {
        "ids": ids,
        "logits": [[float(v) for v in row[:4]] for row in logits],
        "argmax": [int(v) for v in logits.argmax(dim=-1)],
    }


def resave(directory, out):
    import torch
    from transformers import AutoTokenizer, LlamaForCausalLM

    model = LlamaForCausalLM.from_pretrained(directory, dtype=torch.float32)
    model.save_pretrained(out, safe_serialization=True)
    AutoTokenizer.from_pretrained(directory).save_pretrained(out)
    return {"directory": out, "files": sorted(os.listdir(out))}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory")
    parser.add_argument("--logits", help="comma-separated token ids for a forward pass")
    parser.add_argument("--resave", metavar="OUT", help="write the model again with transformers into OUT")
    args = parser.parse_args()
    try:
        summary = {"safetensors": read_safetensors(args.directory)}
    except Exception as error:
        print(json.dumps({"error": f"{type(error).__name__}: {error}"}))
        return 1
    summary["config"] = guarded(lambda: read_config(args.directory))
    summary["tokenizer"] = guarded(lambda: read_tokenizer(args.directory))
    summary["model"] = None
    if args.logits:
        ids = [int(x) for x in args.logits.split(",")]
        summary["model"] = guarded(lambda: run_model(args.directory, ids))
    if args.resave:
        summary["resaved"] = guarded(lambda: resave(args.directory, args.resave))
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
