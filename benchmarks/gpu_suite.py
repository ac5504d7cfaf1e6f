"""The GPU benchmark suite in one call: encoder and whole step, bf16 and fp16.

On a CUDA machine, runs ``encoder_speed.py`` (SummaryMixing, regularMHA,
RelPosMHAXL, RoPEMHA, SDPA and the no-mixer floor; compiled SummaryMixing and
SDPA beside eager at ``--compiled-at`` seconds) and ``pretrain_step.py``
(SummaryMixing, MHSA and MHSA-SDPA, with peak memory) at the paper's size, in
each of ``--dtypes``, with ``--audio-per-batch-s`` seconds of audio per batch
(the paper's 360 s per GPU: 36 utterances of 10 s, 3 of 120 s), and writes
every CSV, markdown table and plot, plus ``README.md`` (device, software,
commands, all tables) to ``benchmarks/measured/gpu_<device name>/``.

Parts run in order of importance and the suite stops starting new ones once
``--budget-s`` is spent; the README lists what was skipped, so that a short
loan of a GPU still yields the main table.

``--device cpu --smoke`` runs the same code at toy sizes (CI runs it, so that
the suite cannot rot between GPU loans).

Usage:
    python benchmarks/gpu_suite.py                         # on a CUDA machine
    python benchmarks/gpu_suite.py --device cpu --smoke --out /tmp/suite
"""

from __future__ import annotations

import argparse
import contextlib
import io
import platform
import re
import time
from collections.abc import Callable
from pathlib import Path

import encoder_speed
import pretrain_step
import torch

PAPER_LENGTHS_S = (10, 20, 30, 60, 120)
SMOKE_ENCODER = ["--layers", "1", "--d-model", "16", "--d-ffn", "32",
                 "--nhead", "2", "--kernel-size", "3"]  # fmt: skip


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Read the command line (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cuda")
    parser.add_argument("--smoke", action="store_true", help="toy sizes (CI)")
    parser.add_argument("--dtypes", nargs="+", default=None,
                        choices=list(encoder_speed.DTYPES),
                        help="default: bf16 fp16 (bf16 with --smoke)")  # fmt: skip
    parser.add_argument("--lengths-s", type=float, nargs="+", default=None)
    parser.add_argument("--compiled-at", type=float, nargs="+", default=None,
                        help="lengths with compiled encoders timed too")  # fmt: skip
    parser.add_argument("--audio-per-batch-s", type=float, default=360.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--budget-s", type=float, default=480.0)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    if args.smoke:
        args.dtypes = args.dtypes or ["bf16"]
        args.lengths_s = args.lengths_s or [0.2, 0.4]
        args.compiled_at = args.compiled_at or [0.4]
        args.audio_per_batch_s = min(args.audio_per_batch_s, 0.8)
        args.repeats = 1
    args.dtypes = args.dtypes or ["bf16", "fp16"]
    args.lengths_s = args.lengths_s or list(PAPER_LENGTHS_S)
    args.compiled_at = args.compiled_at or [30.0]
    return args


def device_slug(device: str) -> str:
    """Name the device the suite runs on, safely for a folder name.

    Example
    -------
    >>> device_slug("cpu").startswith("cpu")
    True
    """
    name = torch.cuda.get_device_name() if device == "cuda" else platform.processor()
    name = f"{device} {name}" if device == "cpu" else name
    return re.sub(r"[^A-Za-z0-9]+", "_", name).strip("_").lower() or device


def batch_size(seconds: float, audio_per_batch_s: float) -> int:
    """Utterances of ``seconds`` that fill the batch (at least one).

    Example
    -------
    >>> batch_size(10, 360), batch_size(120, 360), batch_size(500, 360)
    (36, 3, 1)
    """
    return max(1, int(audio_per_batch_s // seconds))


def tag(seconds: float) -> str:
    """Write a length as a file-name part without dots (the scripts add suffixes).

    Example
    -------
    >>> tag(30.0), tag(0.4)
    ('30s', '0_4s')
    """
    return f"{seconds:g}".replace(".", "_") + "s"


def plan(args: argparse.Namespace, out: Path) -> list[tuple[str, Callable[[], None]]]:
    """List the parts of the suite, most important first, as (title, run)."""
    size = SMOKE_ENCODER if args.smoke else []
    step_size = ["--small"] if args.smoke else []
    parts = []
    for dtype in args.dtypes:
        for seconds in args.lengths_s:
            compiled = ["SummaryMixing", "SDPA"] if seconds in args.compiled_at else []
            command = [
                "--device", args.device, "--dtype", dtype, "--parts", "encoder",
                "--lengths-s", f"{seconds:g}", "--repeats", str(args.repeats),
                "--warmup", "1", "--batch-size",
                str(batch_size(seconds, args.audio_per_batch_s)),
                "--out", str(out / f"encoder_{dtype}_{tag(seconds)}"), *size,
            ]  # fmt: skip
            if compiled:
                command += ["--compiled", *compiled]
            if args.device == "cpu":
                command.append("--no-memory")  # CPU peak RSS needs subprocesses
            title = f"encoder, {dtype}, {seconds:g} s"
            parts.append((title, lambda c=command: encoder_speed.main(c)))
        for seconds in (30.0, 10.0) if not args.smoke else args.lengths_s[:1]:
            command = [
                "--device", args.device, "--dtype", dtype,
                "--lengths-s", f"{seconds:g}", "--repeats", str(args.repeats),
                "--batch-size", str(batch_size(seconds, args.audio_per_batch_s)),
                "--out", str(out / f"step_{dtype}_{tag(seconds)}"), *step_size,
            ]  # fmt: skip
            if args.device == "cpu":
                command.append("--no-memory")
            title = f"whole pre-training step, {dtype}, {seconds:g} s"
            parts.append((title, lambda c=command: pretrain_step.main(c)))
    return parts  # the first dtype's encoder table and steps, then the others


def run_suite(args: argparse.Namespace) -> Path:
    """Run the parts within the budget; write README.md; return the folder."""
    if args.device == "cuda" and not torch.cuda.is_available():
        raise SystemExit("--device cuda: torch.cuda.is_available() is False")
    slug = device_slug(args.device)
    out = args.out or Path("benchmarks/measured") / f"gpu_{slug}"
    out.mkdir(parents=True, exist_ok=True)
    started, sections, skipped = time.time(), [], []
    for title, run in plan(args, out):
        if time.time() - started > args.budget_s:
            skipped.append(title)
            continue
        printed = io.StringIO()
        tic = time.time()
        with contextlib.redirect_stdout(printed):
            run()
        text = printed.getvalue()
        print(text, end="", flush=True)
        sections.append((title, time.time() - tic, text))
    write_readme(out, args, slug, sections, skipped, time.time() - started)
    return out


def write_readme(
    out: Path,
    args: argparse.Namespace,
    slug: str,
    sections: list[tuple[str, float, str]],
    skipped: list[str],
    elapsed_s: float,
) -> None:
    """Write the suite's README.md: what ran where, every table, what was skipped."""
    device = torch.cuda.get_device_name() if args.device == "cuda" else slug
    lines = [
        f"# GPU suite on {device}",
        "",
        f"torch {torch.__version__}, CUDA {torch.version.cuda}; dtypes "
        f"{', '.join(args.dtypes)}; {args.audio_per_batch_s:g} s of audio per batch; "
        f"{args.repeats} timed repeats; {elapsed_s:.0f} s in all"
        + (" (SMOKE: toy sizes, the numbers mean nothing)" if args.smoke else ""),
        "",
        "Command: `python benchmarks/gpu_suite.py "
        + ("--device cpu --smoke" if args.smoke else f"--device {args.device}")
        + "`",
        "",
    ]
    for title, seconds, text in sections:
        table = [line for line in text.splitlines() if line.startswith(("|", "device"))]
        lines += [f"## {title} ({seconds:.0f} s)", "", *table, ""]
    if skipped:
        lines += ["## Skipped (budget spent)", "", *[f"- {t}" for t in skipped], ""]
    (out / "README.md").write_text("\n".join(lines))
    print(f"wrote {out / 'README.md'}")


def main(argv: list[str] | None = None) -> None:
    """Run the suite."""
    run_suite(parse_args(argv))


if __name__ == "__main__":
    main()
