#!/usr/bin/env python3
"""Seeded tiny random models of the architectures Shears runs, made offline with transformers.

Usage: tiny_arch_models.py ARCH OUT_DIR --tokenizer DIR --ids 1,2,3 [--new N] [--seed S]

ARCH is one of:
  llama3   LlamaForCausalLM with Llama 3.1-style RoPE scaling (rope_type llama3)
  linear   LlamaForCausalLM with linear RoPE scaling (factor 2)
  qwen2    Qwen2ForCausalLM (q/k/v biases, tied embedding)
  yarn     Qwen2ForCausalLM with YaRN RoPE scaling (factor 4 over an original context of 64, as
           Qwen2.5 extends its context)
  qwen3    Qwen3ForCausalLM (per-head RMSNorm on q and k, explicit head_dim)
  mistral  MistralForCausalLM with a sliding window of 8 positions

Every parameter is drawn from a seeded normal distribution (norm weights near 1, biases non-zero,
so that each architectural feature changes the logits). OUT_DIR receives the model saved by
save_pretrained (float32 safetensors, config.json), the tokenizer files copied from DIR (the
vocabulary size is read from its tokenizer.json), and reference.json:
  {"ids": prompt ids, "logits": one row per prompt position, "greedy": N greedily chosen ids}.
The greedy continuation recomputes the whole sequence at every step (no cache).
"""
import argparse
import json
import shutil
from pathlib import Path

import torch
import transformers

COMMON = dict(
    hidden_size=32,
    intermediate_size=48,
    num_hidden_layers=2,
    num_attention_heads=4,
    num_key_value_heads=2,
    max_position_embeddings=256,
    rms_norm_eps=1e-5,
    rope_theta=10000.0,
    hidden_act="silu",
)


def make_config(arch, vocab_size, eos):
    """The transformers configuration of one tiny architecture."""
    base = dict(COMMON, vocab_size=vocab_size, bos_token_id=eos, eos_token_id=eos)
    if arch == "llama3":
        scaling = dict(
            rope_type="llama3", factor=8.0, low_freq_factor=1.0, high_freq_factor=4.0,
            original_max_position_embeddings=64)
        return transformers.LlamaConfig(**base, rope_scaling=scaling, tie_word_embeddings=False)
    if arch == "linear":
        return transformers.LlamaConfig(
            **base, rope_scaling=dict(rope_type="linear", factor=2.0), tie_word_embeddings=False)
    if arch == "qwen2":
        return transformers.Qwen2Config(**base, tie_word_embeddings=True, use_sliding_window=False)
    if arch == "yarn":
        scaling = dict(rope_type="yarn", factor=4.0, original_max_position_embeddings=64)
        return transformers.Qwen2Config(
            **base, rope_scaling=scaling, tie_word_embeddings=True, use_sliding_window=False)
    if arch == "qwen3":
        return transformers.Qwen3Config(**base, head_dim=8, tie_word_embeddings=True, use_sliding_window=False)
    if arch == "mistral":
        return transformers.MistralConfig(**base, sliding_window=8, tie_word_embeddings=False)
    raise SystemExit(f"unknown architecture {arch!r}")


def randomize(model, seed):
    """Seeded parameters: matrices N(0, 1/fan_in), norms 1 + N(0, 0.1²), biases N(0, 0.1²)."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, parameter in sorted(model.named_parameters()):
            noise = torch.randn(parameter.shape, generator=generator, dtype=torch.float32)
            if parameter.dim() == 2:
                parameter.copy_(noise / parameter.shape[1] ** 0.5)
            elif name.endswith("norm.weight"):
                parameter.copy_(1 + 0.1 * noise)
            else:
                parameter.copy_(0.1 * noise)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("arch")
    parser.add_argument("out_dir")
    parser.add_argument("--tokenizer", required=True)
    parser.add_argument("--ids", required=True)
    parser.add_argument("--new", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    tokenizer_dir = Path(args.tokenizer)
    vocabulary = json.loads((tokenizer_dir / "tokenizer.json").read_text())["model"]["vocab"]
    vocab_size = len(vocabulary)
    config = make_config(args.arch, vocab_size, eos=vocab_size - 1)
    torch.manual_seed(args.seed)
    model = transformers.AutoModelForCausalLM.from_config(config, torch_dtype=torch.float32)
    model.config._attn_implementation = "eager"
    randomize(model, args.seed)
    model.train(False)

    out = Path(args.out_dir)
    model.save_pretrained(out, safe_serialization=True)
    for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        if (tokenizer_dir / name).exists():
            shutil.copy(tokenizer_dir / name, out / name)

    ids = [int(x) for x in args.ids.split(",")]
    with torch.no_grad():
        logits = model(input_ids=torch.tensor([ids])).logits[0]
        sequence = list(ids)
        for _ in range(args.new):
            step = model(input_ids=torch.tensor([sequence])).logits[0, -1]
            sequence.append(int(step.argmax()))
    reference = {"ids": ids, "logits": logits.tolist(), "greedy": sequence[len(ids):]}
    (out / "reference.json").write_text(json.dumps(reference))
    print(json.dumps({"arch": args.arch, "vocab_size": vocab_size, "transformers": transformers.__version__}))


if __name__ == "__main__":
    main()
