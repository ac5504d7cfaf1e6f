"""Time and peak memory of a whole pre-training step: SummaryMixing against MHSA.

The models are built from their recipe YAML (``hparams/w2v2_summarymixing.yaml``,
``hparams/w2v2_mhsa.yaml``: SpeechBrain's regularMHA, which builds the
``T x T`` weights, and ``hparams/w2v2_mhsa_sdpa.yaml``: the same attention
through fused ``scaled_dot_product_attention``, the reference of the ratios;
the paper's sizes unless overridden) and take
the recipe's optimizer step (``_training_step.py``: front-end, masking,
quantiser, context network, losses, backward, clipping, AdamW; train mode with
the YAML's dropout and layerdrop) on ``--batch-size`` synthetic utterances of
each of ``--lengths-s`` seconds.

Time: the models alternate within one process (round-robin inside every
repeat, the first one rotating); the steps of repeat ``r`` are seeded with
``seed + r``, so masks, quantiser noise and layerdrop decisions are the same
(the ``layers run`` column counts the encoder layers actually run). The median
over ``--repeats`` after ``--warmup`` repeats is reported.

Memory: each (model, length) in a fresh subprocess, which builds model and
optimizer, takes one warm-up step on 1 s of audio (AdamW moments and lazy
buffers now exist, and no target-size block sits in the allocator), then the
measured step, with layerdrop off (a training run's peak is reached at a step
that skips no layer; dropout stays on). ``peak``: on CUDA ``max_memory_allocated``
over the step; on CPU the peak resident set size over the step (``VmHWM``,
reset right before it through ``/proc/self/clear_refs``). Both include the
weights, AdamW moments, gradients and activations, and on CPU also the
interpreter and libraries. ``step mem``: the growth of that peak over the
allocated (CUDA) or resident (CPU) memory just before the step, i.e. what the
step itself needs: gradients, activations and workspace.

Usage:
    python benchmarks/pretrain_step.py                      # paper size, CPU, fp32
    python benchmarks/pretrain_step.py --device cuda --dtype bf16 --batch-size 8
    python benchmarks/pretrain_step.py --small --lengths-s 2 4 --repeats 1  # smoke
    python benchmarks/pretrain_step.py --override num_layers=6 d_ffn=2048
"""

from __future__ import annotations

import argparse
import csv
import multiprocessing
import statistics
import time
from pathlib import Path
from typing import Any

import torch
from _timing import (
    fmt,
    peak_resident_mib,
    reset_peak_resident,
    resident_mib,
    rotation,
    synchronize,
)
from _training_step import (
    DTYPES,
    HPARAMS,
    SMALL,
    TrainingSetup,
    build,
    parse_overrides,
    synthetic_batch,
    training_step,
)

from summarymixing.training.config import merged_overrides

CONFIGS = {
    "SummaryMixing": HPARAMS / "w2v2_summarymixing.yaml",
    "MHSA": HPARAMS / "w2v2_mhsa.yaml",
    "MHSA-SDPA": HPARAMS / "w2v2_mhsa_sdpa.yaml",
}
REFERENCE = "MHSA-SDPA"  # the strongest attention a user would pick
WARMUP_SECONDS = 1.0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Read the command line (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    parser.add_argument("--dtype", choices=list(DTYPES), default="fp32")
    parser.add_argument("--lengths-s", type=float, nargs="+", default=[10, 20, 30])
    parser.add_argument("--batch-size", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--small", action="store_true", help=f"smoke size: {SMALL}")
    parser.add_argument(
        "--override", nargs="+", default=[], metavar="KEY=VALUE",
        help="YAML keys changed in every model, e.g. num_layers=2",
    )  # fmt: skip
    parser.add_argument("--no-memory", action="store_true", help="skip memory")
    parser.add_argument(
        "--out", type=Path, default=Path("benchmarks/out/pretrain_step")
    )
    return parser.parse_args(argv)


def model_overrides(args: argparse.Namespace) -> dict[str, Any]:
    """Return the YAML overrides of every model: ``--small``, then ``--override``.

    Example
    -------
    >>> overrides = model_overrides(parse_args(["--small", "--override", "nhead=2"]))
    >>> overrides["nhead"], overrides["d_model"]
    (2, 128)
    """
    return {**(SMALL if args.small else {}), **parse_overrides(args.override)}


def build_config(name: str, args: argparse.Namespace) -> TrainingSetup:
    """Build ``CONFIGS[name]`` with the command line's overrides."""
    return build(CONFIGS[name], model_overrides(args), args.device, args.dtype)


def time_steps(
    setups: dict[str, TrainingSetup], seconds: float, args: argparse.Namespace
) -> dict[str, tuple[list[float], int]]:
    """Time the models alternately at one length: step seconds and layers run."""
    wavs, wav_lens = synthetic_batch(seconds, args.batch_size, args.device)
    names = list(setups)
    times: dict[str, list[float]] = {name: [] for name in names}
    for repeat in range(args.warmup + args.repeats):
        if repeat == args.warmup:
            for setup in setups.values():
                setup.layers_run[0] = 0
        for name in (names[index] for index in rotation(repeat, len(names))):
            torch.manual_seed(args.seed + repeat)
            synchronize(args.device)
            tic = time.perf_counter()
            training_step(setups[name], wavs, wav_lens, args.dtype)
            synchronize(args.device)
            if repeat >= args.warmup:
                times[name].append(time.perf_counter() - tic)
    return {name: (times[name], setups[name].layers_run[0]) for name in names}


def memory_probe(
    name: str, seconds: float, args: argparse.Namespace
) -> tuple[float, float]:
    """Return (peak MiB, step MiB) of one step; meant for a fresh process."""
    torch.manual_seed(args.seed)
    setup = build_config(name, args)
    warmup = synthetic_batch(WARMUP_SECONDS, args.batch_size, args.device)
    training_step(setup, *warmup, args.dtype)
    wavs, wav_lens = synthetic_batch(seconds, args.batch_size, args.device)
    # A training run's peak comes at a step where layerdrop skips no layer.
    setup.model.encoder_wrapper.encoder.layerdrop_prob = 0.0
    torch.manual_seed(args.seed)
    synchronize(args.device)
    if args.device == "cuda":
        torch.cuda.reset_peak_memory_stats()
        before = torch.cuda.memory_allocated() / 2**20
    else:
        before = resident_mib()
        reset_peak_resident()
    training_step(setup, wavs, wav_lens, args.dtype)
    synchronize(args.device)
    if args.device == "cuda":
        peak = torch.cuda.max_memory_allocated() / 2**20
    else:
        peak = peak_resident_mib()
    return peak, peak - before


def measure_memory(
    name: str, seconds: float, args: argparse.Namespace
) -> tuple[float, float]:
    """Run :func:`memory_probe` in a freshly spawned process."""
    context = multiprocessing.get_context("spawn")
    with context.Pool(1, maxtasksperchild=1) as pool:
        return pool.apply(memory_probe, (name, seconds, args))


def measure(args: argparse.Namespace) -> list[dict]:
    """Memory first (subprocesses, while this process is small), then time."""
    memory = {}
    if not args.no_memory:
        for seconds in args.lengths_s:
            for name in CONFIGS:
                memory[name, seconds] = measure_memory(name, seconds, args)
                print(f"memory of {name} at {seconds:g} s measured", flush=True)
    torch.manual_seed(args.seed)
    setups = {name: build_config(name, args) for name in CONFIGS}
    rows = []
    for seconds in args.lengths_s:
        for name, (times, layers) in time_steps(setups, seconds, args).items():
            peak, growth = memory.get((name, seconds), (None, None))
            params = sum(p.numel() for p in setups[name].model.parameters())
            rows.append({
                "config": name, "length_s": seconds, "batch_size": args.batch_size,
                "params_m": params / 1e6, "median_s": statistics.median(times),
                "min_s": min(times), "peak_mib": peak, "step_mib": growth,
                "layers_run": layers,
            })  # fmt: skip
        print(f"timed {seconds:g} s", flush=True)
    add_ratios(rows)
    return rows


def add_ratios(rows: list[dict]) -> None:
    """Add ``time_ratio``, ``peak_ratio``, ``step_ratio``: each over REFERENCE's.

    Example
    -------
    >>> rows = [
    ...     {"config": "SummaryMixing", "length_s": 1, "median_s": 1.0,
    ...      "peak_mib": 3.0, "step_mib": None},
    ...     {"config": "MHSA-SDPA", "length_s": 1, "median_s": 2.0,
    ...      "peak_mib": 4.0, "step_mib": None},
    ... ]
    >>> add_ratios(rows)
    >>> rows[0]["time_ratio"], rows[0]["peak_ratio"], rows[0]["step_ratio"]
    (0.5, 0.75, None)
    """
    reference = {row["length_s"]: row for row in rows if row["config"] == REFERENCE}
    for row in rows:
        other = reference[row["length_s"]]
        for ratio, key in [("time", "median_s"), ("peak", "peak_mib"),
                           ("step", "step_mib")]:  # fmt: skip
            mine = row[key]
            row[f"{ratio}_ratio"] = None if mine is None else mine / other[key]


def markdown_table(rows: list[dict], args: argparse.Namespace) -> str:
    """Return the rows as a markdown table, after a line saying how they were got."""
    peak = "CUDA max_memory_allocated" if args.device == "cuda" else "peak RSS"
    memory = f"peak = {peak} of a fresh process over one step, step mem = its "
    memory += "growth during the step"
    lines = [
        f"device {args.device}, {torch.get_num_threads()} threads, {args.dtype}, "
        f"B={args.batch_size}, median of {args.repeats} steps; "
        + ("memory not measured" if args.no_memory else memory),
        "",
        f"| config | params (M) | length (s) | step (s) | vs {REFERENCE} | peak "
        f"(MiB) | vs {REFERENCE} | step mem (MiB) | vs {REFERENCE} | layers run |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        cells = [
            row["config"], f"{row['params_m']:.1f}", f"{row['length_s']:g}",
            f"{row['median_s']:.3f}", fmt(row["time_ratio"], ".2f"),
            fmt(row["peak_mib"], ".0f"), fmt(row["peak_ratio"], ".2f"),
            fmt(row["step_mib"], ".0f"), fmt(row["step_ratio"], ".2f"),
            str(row["layers_run"]),
        ]  # fmt: skip
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def write_outputs(rows: list[dict], table: str, out: Path) -> None:
    """Write ``out`` .csv, .md and .png (step time and memory against length)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.with_suffix(".csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    out.with_suffix(".md").write_text(table + "\n")
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    figure, (time_axis, memory_axis) = pyplot.subplots(1, 2, figsize=(11, 4))
    for name in CONFIGS:
        mine = [row for row in rows if row["config"] == name]
        lengths = [row["length_s"] for row in mine]
        time_axis.plot(lengths, [row["median_s"] for row in mine], "o-", label=name)
        if all(row["peak_mib"] is not None for row in mine):
            peaks = [row["peak_mib"] for row in mine]
            (line,) = memory_axis.plot(lengths, peaks, "o-", label=f"{name} peak")
            steps = [row["step_mib"] for row in mine]
            memory_axis.plot(lengths, steps, "s--", color=line.get_color(),
                             label=f"{name} step mem")  # fmt: skip
    time_axis.set(xlabel="utterance length (s)", ylabel="training step (s)")
    memory_axis.set(xlabel="utterance length (s)", ylabel="memory (MiB)")
    time_axis.set_ylim(bottom=0)
    memory_axis.set_ylim(bottom=0)
    time_axis.legend()
    if memory_axis.lines:
        memory_axis.legend(fontsize=8)
    figure.suptitle(table.splitlines()[0], fontsize=7)
    figure.tight_layout()
    figure.savefig(out.with_suffix(".png"), dpi=120)
    print(f"wrote {out.with_suffix('.csv')}, .md and .png")


def main(argv: list[str] | None = None) -> None:
    """Measure, print the table, write CSV, markdown and plot."""
    args = parse_args(argv)
    if args.device == "cuda" and not torch.cuda.is_available():
        raise SystemExit("--device cuda: torch.cuda.is_available() is False")
    for path in CONFIGS.values():  # unknown or malformed overrides fail here
        merged_overrides(path, model_overrides(args))
    rows = measure(args)
    table = markdown_table(rows, args)
    print("\n" + table)
    write_outputs(rows, table, args.out)


if __name__ == "__main__":
    main()
