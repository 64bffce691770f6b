"""Renders the runs recorded by Scripts/results.sh into the table of docs/results.md.

Usage: results_table.py RUNS_TSV MACHINE_TXT RESULTS_MD

Only the text between the `<!-- results:begin -->` and `<!-- results:end -->` markers is
replaced, so the prose around the table is kept; a missing file is created with both markers.
Without MACHINE_TXT (only rendering, e.g. in a fresh clone) the previous machine line is kept.
"""
import csv
import os
import sys

BEGIN, END = "<!-- results:begin -->", "<!-- results:end -->"
LEVELS = [("0.5", "50%"), ("0.6", "60%"), ("0.7", "70%"), ("2:4", "2:4")]
METHODS = [("magnitude", "Magnitude"), ("wanda", "Wanda"), ("sparsegpt", "SparseGPT"), ("ria", "RIA")]
QUIET_LOAD = 0.25  # other_load (cores) up to which a run counts as timed on a quiet machine
VARIANTS = [("false", "false", ""), ("false", "true", " + DSnoT"), ("true", "false", " + OWL"), ("true", "true", " + OWL + DSnoT")]


def timed_quietly(run):
    """Whether nothing else used the machine while the run was timed (unknown for older runs)."""
    load = run.get("other_load")
    return load not in (None, "") and float(load) <= QUIET_LOAD


def target_sparsity(level):
    """The sparsity a level asks for: the number itself, or N/M for an N:M pattern."""
    if ":" in level:
        pruned, group = level.split(":")
        return int(pruned) / int(group)
    return float(level)


def cell(run):
    """Perplexity and prune seconds; a dagger marks times inflated by other work on the machine, and
    the reached sparsity is shown where it is off the target (OWL's per-layer N:M)."""
    mark = "" if timed_quietly(run) else "†"
    reached = float(run["sparsity"])
    off = f", sparsity {reached:.3f}" if abs(reached - target_sparsity(run["level"])) > 0.002 else ""
    return f"{float(run['ppl']):.2f} ({float(run['prune_s']):.0f} s{mark}{off})"


def table(runs, machine):
    latest = {}
    for run in runs:
        latest[(run["method"], run["level"], run["owl"], run["dsnot"])] = run
    lines = ["Perplexity on the first 40 chunks of 2048 WikiText-2 test ids (lower is better); in brackets the",
             "wall-clock seconds of the prune (calibration forwards included, evaluation excluded).", ""]
    dense = latest.get(("dense", "-", "false", "false"))
    if dense:
        lines += [f"Dense baseline: **{float(dense['ppl']):.3f}** (evaluation {float(dense['eval_s']):.0f} s).", ""]
    lines += ["| method | " + " | ".join(label for _, label in LEVELS) + " |",
              "|---|" + "---:|" * len(LEVELS)]
    for method, name in METHODS:
        for owl, dsnot, suffix in VARIANTS:
            cells = []
            for level, _ in LEVELS:
                run = latest.get((method, level, owl, dsnot))
                if method == "sparsegpt" and dsnot == "true":
                    cells.append("n/a")
                elif run is None:
                    cells.append("not run")
                else:
                    cells.append(cell(run))
            lines.append(f"| {name}{suffix} | " + " | ".join(cells) + " |")
    lines += ["", "Plugin criterion (the example OBS saliency plugin, `Plugins/obs-c`) against Wanda at 50%, alone",
              "and with a SparseGPT-style re-fit of the kept weights (`shears.reconstruct`):", "",
              "| criterion | mask only | + re-fit |", "|---|---:|---:|"]
    for method, name in [("obs", "OBS saliency (plugin)"), ("wanda", "Wanda (built-in)")]:
        cells = []
        for key in (method, method + "-refit"):
            run = latest.get((key, "0.5", "false", "false"))
            cells.append("not run" if run is None else cell(run))
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += ["", "Gradient criterion (LLM-Pruner's element-wise Taylor terms from one gradient of the dense model's",
              "loss on the calibration windows, `shears.taylor`) against Wanda, per output row or 2:4:", "",
              "| criterion | 50% | 2:4 |", "|---|---:|---:|"]
    for method, name in [("taylor", "Taylor, order 1 (\\|W·g\\|)"), ("taylor2", "Taylor, order 2 (\\|W·g − ½W·F·W\\|)"),
                         ("wanda", "Wanda (built-in)")]:
        cells = []
        for level in ("0.5", "2:4"):
            run = latest.get((method, level, "false", "false"))
            cells.append("not run" if run is None else cell(run))
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += ["", "BESA (per-row sparsities learned by blockwise reconstruction, `shears.besa`, reference row-wise",
              "defaults: one epoch, β 5, Prodigy lr 1, d_coef 5; rows in Wanda order) against Wanda and SparseGPT:", "",
              "| method | 50% | 60% | 70% |", "|---|---:|---:|---:|"]
    for method, name in [("besa", "BESA"), ("besa-exact", "BESA, `exact = true` (count corrected to the target)"),
                         ("wanda", "Wanda"), ("sparsegpt", "SparseGPT")]:
        cells = []
        for level in ("0.5", "0.6", "0.7"):
            run = latest.get((method, level, "false", "false"))
            cells.append("not run" if run is None else cell(run))
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    chunks = sorted({run["chunks"] for run in runs})
    dates = sorted(run["date"] for run in runs)
    if any(not timed_quietly(run) for run in latest.values()):
        lines += ["", f"† timed while other work used more than {QUIET_LOAD} cores, or before that load was recorded: "
                  "the perplexity is exact, the seconds may be inflated."]
    lines += ["", f"Machine: {machine.strip()}."]
    if dates:
        lines.append(f"Runs: {len(runs)} between {dates[0]} and {dates[-1]}, {', '.join(chunks)} chunks.")
    return "\n".join(lines)


def main():
    runs_path, machine_path, out_path = sys.argv[1:4]
    with open(runs_path, newline="") as f:
        runs = list(csv.DictReader(f, delimiter="\t"))
    try:
        text = open(out_path).read()
    except FileNotFoundError:
        text = f"# Results\n\n{BEGIN}\n{END}\n"
    try:
        machine = open(machine_path).read()
    except FileNotFoundError:
        # Only rendering (e.g. in a fresh clone): keep the machine line of the last measuring run.
        previous = [line for line in text.splitlines() if line.startswith("Machine: ")]
        machine = previous[-1][len("Machine: "):].rstrip(".") if previous else "not measured"
    if BEGIN not in text or END not in text:
        sys.exit(f"results_table: {out_path} lacks the {BEGIN} / {END} markers; add them where the table goes")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    new = f"{head}{BEGIN}\n{table(runs, machine)}\n{END}{tail}"
    tmp = out_path + ".tmp"
    with open(tmp, "w") as f:
        f.write(new)

    os.replace(tmp, out_path)


if __name__ == "__main__":
    main()
