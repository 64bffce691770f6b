#!/usr/bin/env python3
"""Independent view of a GGUF file through PyPI's `gguf` package, to cross-check Shears' reader.

Usage:
    gguf_crosscheck.py FILE [--expect-json EXPECTED] [--requantized SOURCE:TARGET ...]

Prints a JSON summary of FILE: version, metadata (every key with its type; scalars and arrays of
up to 16 elements listed, longer arrays as a sha256 of their JSON text), and every tensor's name,
type, row-major shape, the sha256 of its dequantized float32 data (little-endian) and a checksum.

The checksum is sum((i + 1) * bits[i]) mod 2**64 over the uint32 bit patterns of the dequantized
float32 elements: any single differing element changes it, and it is cheap to compute elsewhere.

With --expect-json, EXPECTED is a JSON file of the same shape written by another implementation:
  {"metadata": [{"key", "type", "element_type"?, "value"}...],
   "tensors": [{"name", "type", "shape", "checksum"? (decimal string), "bits"?}...]}
where "bits" lists the uint32 bit patterns of all dequantized elements. Every field present in
EXPECTED is compared (metadata keys in order, float32 values compared as float32); differences
are listed on stderr and the exit status is 1. Exit status 2 means the file could not be read.

With --requantized SOURCE:TARGET (repeatable), tensor TARGET's stored bytes must equal what
gguf.quants.quantize makes of tensor SOURCE's dequantized values in TARGET's type: a check of
another implementation's F16/BF16/Q8_0 encoder against the gguf package's (ggml's reference
rounding). Differences are reported and exit with status 1 like the others.
"""

import argparse
import hashlib
import json
import sys

import numpy as np
from gguf import GGUFReader, GGUFValueType, GGMLQuantizationType
from gguf.quants import dequantize, quantize

LISTED_ARRAY_LIMIT = 16


def field_value(field):
    """The field's value as plain Python (list for arrays), its type name and element type name."""
    main = field.types[0]
    if main == GGUFValueType.ARRAY:
        # parts: key length, key, value type, element type, count, elements... The element type is
        # read from its part because `types` omits it for an empty array.
        element_type = GGUFValueType(int(field.parts[3][0]))
        if element_type == GGUFValueType.ARRAY:
            raise ValueError(f"{field.name}: nested arrays are not supported by the gguf package")
        return field.contents(), "array", element_type.name.lower()
    return field.contents(), main.name.lower(), None


def dequantized(tensor):
    """The tensor's elements as contiguous little-endian float32."""
    data = dequantize(tensor.data, tensor.tensor_type)
    return np.ascontiguousarray(data, dtype="<f4").reshape(-1)


def checksum(values):
    bits = values.view(np.uint32).astype(np.uint64)
    weights = np.arange(1, bits.size + 1, dtype=np.uint64)
    with np.errstate(over="ignore"):
        return int(np.sum(bits * weights, dtype=np.uint64))


def summary(reader):
    metadata = []
    for name, field in reader.fields.items():
        if name.startswith("GGUF."):
            continue
        value, type_name, element_type = field_value(field)
        entry = {"key": name, "type": type_name}
        if element_type is not None:
            entry["element_type"] = element_type
            entry["count"] = len(value)
            if len(value) > LISTED_ARRAY_LIMIT:
                value = {"sha256": hashlib.sha256(json.dumps(value).encode()).hexdigest()}
        entry["value"] = value
        metadata.append(entry)
    tensors = []
    for tensor in reader.tensors:
        values = dequantized(tensor)
        tensors.append({
            "name": tensor.name,
            "type": GGMLQuantizationType(tensor.tensor_type).name.lower(),
            "shape": [int(d) for d in reversed(tensor.shape.tolist())],
            "sha256": hashlib.sha256(values.tobytes()).hexdigest(),
            "checksum": checksum(values),
        })
    version = int(reader.fields["GGUF.version"].contents())
    return {"version": version, "metadata": metadata, "tensors": tensors}


def same_value(expected, actual, type_name):
    if type_name == "float32":
        return np.float32(expected).tobytes() == np.float32(actual).tobytes() or (
            np.isnan(np.float32(expected)) and np.isnan(np.float32(actual)))
    if type_name == "float64":
        return float(expected) == float(actual) or (np.isnan(expected) and np.isnan(actual))
    if type_name == "bool":
        return bool(expected) == bool(actual)
    return expected == actual


def compare(reader, expected):
    problems = []
    fields = [(n, f) for n, f in reader.fields.items() if not n.startswith("GGUF.")]
    expected_keys = [e["key"] for e in expected.get("metadata", [])]
    if "metadata" in expected and expected_keys != [n for n, _ in fields]:
        problems.append(f"metadata keys differ: expected {expected_keys}, file has {[n for n, _ in fields]}")
    by_name = dict(fields)
    for entry in expected.get("metadata", []):
        field = by_name.get(entry["key"])
        if field is None:
            continue
        value, type_name, element_type = field_value(field)
        if type_name != entry["type"] or element_type != entry.get("element_type"):
            problems.append(f"{entry['key']}: type {type_name}/{element_type}, expected {entry['type']}/{entry.get('element_type')}")
            continue
        if type_name == "array":
            ok = len(value) == len(entry["value"]) and all(
                same_value(e, a, element_type) for e, a in zip(entry["value"], value))
        else:
            ok = same_value(entry["value"], value, type_name)
        if not ok:
            problems.append(f"{entry['key']}: value differs")
    tensors = {t.name: t for t in reader.tensors}
    expected_names = [t["name"] for t in expected.get("tensors", [])]
    if "tensors" in expected and expected_names != [t.name for t in reader.tensors]:
        problems.append(f"tensor names differ: expected {expected_names}, file has {[t.name for t in reader.tensors]}")
    for entry in expected.get("tensors", []):
        tensor = tensors.get(entry["name"])
        if tensor is None:
            continue
        type_name = GGMLQuantizationType(tensor.tensor_type).name.lower()
        if "type" in entry and entry["type"].lower() != type_name:
            problems.append(f"{entry['name']}: type {type_name}, expected {entry['type']}")
        shape = [int(d) for d in reversed(tensor.shape.tolist())]
        if "shape" in entry and entry["shape"] != shape:
            problems.append(f"{entry['name']}: shape {shape}, expected {entry['shape']}")
        if "checksum" not in entry and "bits" not in entry:
            continue
        values = dequantized(tensor)
        if "checksum" in entry and int(entry["checksum"]) != checksum(values):
            problems.append(f"{entry['name']}: checksum {checksum(values)}, expected {entry['checksum']}")
        if "bits" in entry:
            bits = values.view(np.uint32).tolist()
            if bits != entry["bits"]:
                first = next((i for i, (a, b) in enumerate(zip(bits, entry["bits"])) if a != b), min(len(bits), len(entry["bits"])))
                problems.append(f"{entry['name']}: dequantized values differ (first at element {first})")
    return problems


def check_requantized(reader, pair):
    """Problems found re-encoding tensor SOURCE into TARGET's type with the gguf package."""
    source_name, _, target_name = pair.partition(":")
    tensors = {t.name: t for t in reader.tensors}
    if source_name not in tensors or target_name not in tensors:
        return [f"--requantized {pair}: no such tensor"]
    source, target = tensors[source_name], tensors[target_name]
    shape = [int(d) for d in reversed(target.shape.tolist())]
    values = dequantized(source).reshape(shape)
    expected = np.ascontiguousarray(quantize(values, target.tensor_type)).tobytes()
    actual = np.ascontiguousarray(target.data).tobytes()
    if expected == actual:
        return []
    first = next((i for i, (a, b) in enumerate(zip(expected, actual)) if a != b), min(len(expected), len(actual)))
    return [f"{target_name}: stored bytes differ from gguf's encoding of {source_name} (first at byte {first})"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file")
    parser.add_argument("--expect-json", dest="expect_json")
    parser.add_argument("--requantized", action="append", default=[], metavar="SOURCE:TARGET")
    args = parser.parse_args()
    try:
        reader = GGUFReader(args.file)
        result = summary(reader)
    except Exception as error:  # the reference could not read the file: report it, distinctly
        print(f"{args.file}: gguf package cannot read the file: {error}", file=sys.stderr)
        return 2
    json.dump(result, sys.stdout, indent=1)
    print()
    problems = []
    if args.expect_json:
        with open(args.expect_json) as handle:
            expected = json.load(handle)
        problems += compare(reader, expected)
    for pair in args.requantized:
        problems += check_requantized(reader, pair)
    for problem in problems:
        print(f"MISMATCH {problem}", file=sys.stderr)
    if problems:
        return 1
    if args.expect_json:
        print(f"crosscheck OK: {len(expected.get('metadata', []))} keys, {len(expected.get('tensors', []))} tensors agree",
              file=sys.stderr)
    if args.requantized:
        print(f"requantization OK: {len(args.requantized)} tensors encoded as the gguf package does", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
