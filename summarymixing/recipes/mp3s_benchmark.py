"""MP3S benchmark: probe frozen encoders on every downstream task, one command.

Usage
-----
Demo (no ``--data``): every task and probe on the tiny synthetic corpora, built
in ``<output>/synthetic`` on first use, 2 epochs each (about 10 minutes on a
CPU); it shows that everything runs, not how good the encoder is. Add
``--synthetic-size small --override number_of_epochs=20`` for a longer one::

    python recipes/mp3s_benchmark.py --encoder results/w2v2_SummaryMixing/1986/encoder

The real benchmark, SummaryMixing and attention side by side on one GPU::

    python recipes/mp3s_benchmark.py \
        --encoder results/w2v2_SummaryMixing/1986/encoder \
        --encoder results/w2v2_RelPosMHAXL/1986/encoder --names summarymixing mhsa \
        --data librispeech=/data/LibriSpeech --data buckeye=/data/Buckeye \
        --data commonvoice-cy=/data/cv-corpus-11.0/cy \
        --data commonvoice-eu=/data/cv-corpus-11.0/eu \
        --data voxceleb1=/data/VoxCeleb1 --data iemocap=/data/IEMOCAP_full_release \
        --data slurp=/data/SLURP --output results/mp3s --device cuda:0

Some tasks, their first probe only, shorter training::

    python recipes/mp3s_benchmark.py --encoder ENCODER --tasks librispeech,slurp \
        --probes first --data librispeech=/data/LibriSpeech --data slurp=/data/SLURP \
        --override number_of_epochs=2

With the SUPERB-style baselines beside the encoder:
``fbank``, the same probes on the 80 log-mel features the encoder receives (no
encoder), and ``untrained``, the first encoder's architecture freshly
initialised with ``--baseline-seed`` (default 1986, the pre-training's default
seed: for an encoder pre-trained with it, the very state its pre-training
started from)::

    python recipes/mp3s_benchmark.py --encoder ENCODER \
        --baseline fbank --baseline untrained --data slurp=/data/SLURP

``--baseline untrained=hparams/w2v2_summarymixing.yaml`` builds the untrained
encoder from a pre-training YAML as it is (no demo keys nor other overrides:
that file is the paper's 12-layer model) instead. Baselines are exported once
to ``<output>/baselines/<name>`` and are columns named ``fbank`` and
``untrained`` in the reports; a later run reuses them, and refuses a baseline
folder holding another seed or source.

Hyper-parameters: ``--override KEY=VALUE`` sets a key of every task's YAML
(``hparams/mp3s/<task>_<probe>.yaml``), ``--override TASK:KEY=VALUE`` one task's
only (``--override iemocap:fold=3``, ``--override commonvoice-cy:lr=4e-4``).

Tasks without a ``--data`` folder are reported as skipped. Running the same
command again trains only the runs that have not finished; a run that fails is
recorded in ``results.md`` (traceback in its folder's ``failure.log``) and the
others go on. The reports are ``<output>/results.md``, ``results.csv`` and
``layer_weights/<task>.png``.

Exit status: 0 when every run finished (or was skipped for lack of data), 1 when
one or more failed, 2 for bad arguments (nothing was run).
"""

import argparse
import sys
from collections.abc import Callable
from typing import Any

import torch

from summarymixing.mp3s.benchmark.runner import (
    BenchmarkPlan,
    check_encoders,
    default_encoder_names,
    describe_overrides,
    export_baselines,
    plan_benchmark,
    run_benchmark,
)
from summarymixing.mp3s.benchmark.tables import primary_table
from summarymixing.mp3s.run.tasks import TASKS
from summarymixing.mp3s.upstream.baselines import (
    BASELINE_CHOICES,
    DEFAULT_BASELINE_SEED,
)
from summarymixing.training.config import load_yaml


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    """Parse the command line (see the module docstring)."""
    parser = argparse.ArgumentParser(
        description="Run the MP3S benchmark on one or two frozen encoders.",
        epilog="tasks (probes): "
        + "; ".join(f"{task} ({', '.join(probes)})" for task, probes in TASKS.items()),
    )
    parser.add_argument(
        "--encoder",
        action="append",
        required=True,
        help="encoder folder (repeat to compare two encoders)",
    )
    parser.add_argument("--names", nargs="+", help="one name per --encoder")
    parser.add_argument(
        "--baseline",
        action="append",
        default=[],
        metavar="NAME",
        help=f"a baseline column beside the encoders (repeatable): "
        f"{', '.join(BASELINE_CHOICES)}",
    )
    parser.add_argument(
        "--baseline-seed",
        type=int,
        default=DEFAULT_BASELINE_SEED,
        help="initialisation seed of the untrained baseline",
    )
    parser.add_argument("--tasks", default="all", help="all, or task1,task2")
    parser.add_argument("--probes", default="all", help="all, first, or p1,p2")
    parser.add_argument(
        "--data",
        action="append",
        default=[],
        metavar="TASK=DIR",
        help="corpus root of a task; none at all: synthetic demo",
    )
    parser.add_argument("--output", default="results/mp3s", help="output folder")
    parser.add_argument(
        "--synthetic-size",
        default="tiny",
        choices=("tiny", "small"),
        help="size of the demo corpora",
    )
    parser.add_argument(
        "--override",
        action="append",
        default=[],
        metavar="[TASK:]KEY=VALUE",
        help="hyper-parameter of every run, or of one task's runs",
    )
    parser.add_argument(
        "--device",
        default="cuda:0" if torch.cuda.is_available() else "cpu",
        help="cuda:0, cpu, ... (default: cuda:0 when there is a GPU)",
    )
    return parser.parse_args(argv)


def key_values(
    pairs: list[str], option: str, parse_value: Callable[[str], Any] = str
) -> dict[str, Any]:
    """``["a=1", "b=x"]`` -> ``{"a": ..., "b": ...}``; anything else: ValueError."""
    parsed = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key or key in parsed:
            problem = "repeated" if key in parsed else "not KEY=VALUE"
            raise ValueError(f"{option} {pair!r} is {problem}")
        parsed[key] = parse_value(value)
    return parsed


def plan_from_arguments(args: argparse.Namespace) -> BenchmarkPlan:
    """Check every argument and return the plan."""
    names = args.names or default_encoder_names(args.encoder)
    if len(names) != len(args.encoder):
        raise ValueError(
            f"--names gives {len(names)} names for {len(args.encoder)} --encoder "
            "folders; give one name per encoder"
        )
    return plan_benchmark(
        dict(zip(names, args.encoder, strict=True)),
        args.output,
        args.tasks,
        args.probes,
        key_values(args.data, "--data"),
        args.synthetic_size,
        key_values(args.override, "--override", load_yaml),
        args.baseline,
        args.baseline_seed,
    )


def main(argv: list[str] | None = None) -> int:
    """Plan, check, run, report; return the exit status."""
    args = parse_arguments(argv)
    try:
        plan = plan_from_arguments(args)
        export_baselines(plan)
        for name, layers in check_encoders(plan.encoders).items():
            print(f"encoder {name}: {plan.encoders[name]} ({layers} hidden states)")
    except (ValueError, FileNotFoundError, ImportError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if plan.synthetic_size:
        print(
            f"No --data given: demo on the synthetic corpora ({plan.synthetic_size})"
            f" in {plan.output_folder / 'synthetic'}"
        )
    print(f"overrides: {describe_overrides(plan.overrides)}")
    for note in plan.notes:
        print(f"not run: {note}")
    outcomes = run_benchmark(plan, {"device": args.device})
    print(primary_table(outcomes, list(plan.encoders)))
    print(f"Reports: {plan.output_folder / 'results.md'}, results.csv")
    failed = [o for o in outcomes if o.status == "failed"]
    if failed:
        print(
            f"{len(failed)} run(s) failed; see the Failures section of results.md",
            file=sys.stderr,
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
