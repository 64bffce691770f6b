"""SentencePiece reference fixtures for Shears' tokenizer tests.

Trains, offline and seeded, a Unigram and a BPE (byte_fallback) SentencePiece model on WikiText-2
text, and writes for each, into OUT/<kind>/:
  tokenizer.model          the SentencePiece ModelProto
  tokenizer.json           the transformers form: LlamaConverter (Unigram), LlamaTokenizer (BPE)
  <text>.spm.i32           ids from the sentencepiece library (no BOS/EOS)
  <text>.hf.i32            ids from transformers' fast tokenizer (add_special_tokens=False)
for each text: the given WikiText-2 test file and OUT/hard-cases.txt (written here).

Usage: python spm_fixtures.py TRAIN_TEXT TEST_TEXT OUT_DIR     (run in Scripts/install-refenv.sh's env)
"""

import os
import shutil
import struct
import sys
import tempfile

import sentencepiece as spm
from transformers import LlamaTokenizer, PreTrainedTokenizerFast
from transformers.convert_slow_tokenizer import LlamaConverter

HARD_CASES = (
    "Hello world\n"
    "  two leading spaces and    a run of four\n"
    "\ttab\tseparated\t\tcolumns\t\n"
    "\n\n\nthree newlines above\n"
    "trailing spaces   \n"
    "emoji: 😀🦙🧪 and flags 🇫🇷\n"
    "CJK: 日本語のテキスト 中文字符 한국어\n"
    "unknown bytes: \u0001\u0002\u007f ǅ ẞ ꙮ 𝔘𝔫𝔦𝔠𝔬𝔡𝔢\n"
    "special tokens in text: <s> hello </s> <unk> <s></s>\n"
    "accents: café naïve résumé Zürich\n"
    "digits 1234567890 3.14159 -42\n"
    " leading space line\n"
    "mixed\r\nline endings\r\n"
    "end without newline"
)


class SlowLlama:
    """What LlamaConverter reads of a slow (sentencepiece) LlamaTokenizer, in its legacy mode."""

    legacy = True
    add_prefix_space = True

    def __init__(self, vocab_file, processor):
        self.vocab_file = vocab_file
        self.processor = processor

    def convert_ids_to_tokens(self, index):
        return self.processor.id_to_piece(index)


def write_ids(path, ids):
    with open(path, "wb") as file:
        file.write(struct.pack("<%di" % len(ids), *ids))


def main():
    train_path, test_path, out = sys.argv[1:4]
    os.makedirs(out, exist_ok=True)
    hard_path = os.path.join(out, "hard-cases.txt")
    with open(hard_path, "w", encoding="utf-8", newline="") as file:
        file.write(HARD_CASES)
    spm.set_random_generator_seed(0)
    texts = {"wikitext2-test": test_path, "hard-cases": hard_path}
    for kind, vocab_size in (("unigram", 3000), ("bpe", 3000)):
        directory = os.path.join(out, kind)
        os.makedirs(directory, exist_ok=True)
        prefix = os.path.join(directory, "tokenizer")
        spm.SentencePieceTrainer.train(
            input=train_path, model_prefix=prefix, model_type=kind, vocab_size=vocab_size,
            byte_fallback=(kind == "bpe"), character_coverage=0.9995, input_sentence_size=20000,
            shuffle_input_sentence=True, seed_sentencepiece_size=200000, num_threads=1,
            max_sentence_length=8192, minloglevel=2, normalization_rule_name="identity",
            remove_extra_whitespaces=False, split_digits=True, allow_whitespace_only_pieces=True,
            user_defined_symbols=["<sep>"] if kind == "unigram" else [],
        )
        os.remove(prefix + ".vocab")
        processor = spm.SentencePieceProcessor(model_file=prefix + ".model")
        if kind == "unigram":
            converted = LlamaConverter(SlowLlama(prefix + ".model", processor)).converted()
            fast = PreTrainedTokenizerFast(tokenizer_object=converted)
        else:
            # transformers 5 builds LlamaTokenizer (fast) from tokenizer.model itself; its
            # LlamaConverter BPE path is broken there, and that class would turn a Unigram model into BPE.
            with tempfile.TemporaryDirectory() as scratch:
                shutil.copy(prefix + ".model", os.path.join(scratch, "tokenizer.model"))
                fast = LlamaTokenizer.from_pretrained(scratch, legacy=True, add_bos_token=False)
        fast.backend_tokenizer.save(os.path.join(directory, "tokenizer.json"))
        for name, path in texts.items():
            with open(path, encoding="utf-8", newline="") as file:
                text = file.read()
            write_ids(os.path.join(directory, name + ".spm.i32"), processor.encode(text))
            write_ids(os.path.join(directory, name + ".hf.i32"), fast.encode(text, add_special_tokens=False))


if __name__ == "__main__":
    main()
