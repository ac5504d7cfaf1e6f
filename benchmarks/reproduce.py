r"""A small-scale reproduction of the paper's comparison, over seeds, in one command.

For every seed s (``--seeds N``: 1986, 1987, ..., 1986 + N - 1; s is the
pre-training's ``seed`` and every probe's ``seed``) the upstreams are:

* ``SummaryMixing`` and ``MHSA``: ``recipes/pretrain.py`` with
  ``hparams/w2v2_summarymixing.yaml`` / ``hparams/w2v2_mhsa.yaml``, the keys
  of ``hparams/demo.yaml``, ``--steps`` optimizer steps, every step logged,
  the quality monitor read ``MONITOR_READINGS`` times after step 0, on a
  synthetic Libri-Light of ``--hours`` hours, validated (and monitored) on the
  synthetic LibriSpeech dev-clean; ``--override`` changes keys of both;
* ``untrained``: the SummaryMixing model with the same keys, initialised with
  seed s and never trained (the very state that pre-training started from);
* ``fbank``: the 80 log-mel features, no encoder (one folder for all seeds).

Each upstream is probed frozen with the MP3S LibriSpeech BiLSTM-CTC probe
(``--asr-corpus``: a LibriSpeech-layout root of other speech instead of the
synthetic one) and the VoxCeleb1 x-vector probe, with the reduced budgets of
``PROBE_OVERRIDES``, once per label budget (``--label-minutes A B``): the
probe's training data is cut to about A minutes (every speaker kept, dev and
test untouched; ``_label_subsets``). Pre-trainings (``_pretrain_runs``) and
probe groups (``recipes/mp3s_benchmark.py``, one per seed and budget) run as
subprocesses, ``--jobs`` at once, each with ``--threads`` threads. Everything
finished is reused when the command is run again; a failed run is recorded
and the others go on (exit status 1). Every upstream with an encoder is also
fine-tuned with CTC on the same labelled subset, with the same short schedule
(``_reproduce_finetune``; ``--skip-finetune`` leaves it out), and shown as the
probe ``finetune_ctc``; ``--finetune-scaled`` adds the probe
``finetune_ctc_scaled``, whose updates grow with the labelled minutes (the
same number of epochs at every budget). ``<out>/report.md`` (with
``results.csv``, ``summary.csv``, ``curves.png``, ``downstream.png``,
``efficiency.png``) holds mean ± std over seeds and one verdict per claim.

``--ablation NAME`` runs one of ``ABLATIONS`` instead: two SummaryMixing
pre-trainings that differ in one YAML key (its default and one alternative;
the ablation's value wins over ``--override``) and the untrained encoder of
the default, same seeds, probes and fine-tuning, in
``<out>/ablation_<NAME>/``. On-disk layout: ``_reproduce_study``.

Usage:
    python benchmarks/reproduce.py                      # 3 seeds, 3 h, 10/30 min labels
    python benchmarks/reproduce.py --seeds 5 --jobs 2 --threads 1
    python benchmarks/reproduce.py --asr-corpus /data/LibriSpeech
    python benchmarks/reproduce.py --ablation codebook  # -> <out>/ablation_codebook/
    python benchmarks/reproduce.py --size tiny --seeds 2 --steps 3 --hours 0.05 \
        --label-minutes 1 2 --jobs 1 --out /tmp/repro   # smoke, 4 min
"""

from __future__ import annotations

import argparse
import functools
import math
import os
import shlex
import sys
from pathlib import Path
from typing import Any

import torch
from _pretrain_runs import baseline_rss_mib
from _reproduce_finetune import FINETUNE, FINETUNE_SCALED, run_finetunings
from _reproduce_inputs import (
    StageClock,
    check_before_work,
    describe_corpora,
    keys_for,
)
from _reproduce_report import write_report
from _reproduce_setup import Setup, machine_description
from _reproduce_stages import (
    build_corpora,
    build_subsets,
    corpus_roots,
    export_baselines,
    probe_commands,
    read_subsets,
    run_pretrainings,
    run_probe_groups,
)
from _reproduce_study import Ablation, Study, Upstream, seeds_for
from _training_step import parse_overrides

from summarymixing.data.synthetic.corpus import STAMP
from summarymixing.training.config import load_yaml

ROOT = Path(__file__).resolve().parents[1]
HPARAMS = ROOT / "hparams"
DEMO = HPARAMS / "demo.yaml"
DEMO_KEYS: dict[str, Any] = load_yaml(DEMO.read_text())
MODELS = {
    "SummaryMixing": HPARAMS / "w2v2_summarymixing.yaml",
    "MHSA": HPARAMS / "w2v2_mhsa.yaml",
}
PROBES = (("librispeech", "bilstm"), ("voxceleb1", "xvector"))
PROBE_OVERRIDES: dict[str, dict[str, dict[str, Any]]] = {
    "small": {
        "librispeech": {
            "lstm_hidden_size": 128, "lstm_layers": 1, "number_of_epochs": 8,
            "probe_lr": 0.008, "test_splits": ["test-clean"], "num_workers": 0,
            "batch_size": 8,
        },
        "voxceleb1": {
            "xvector_channels": [256, 256, 256, 256, 768], "embedding_size": 256,
            "number_of_epochs": 6, "probe_lr": 0.001, "num_workers": 0,
        },
    },
    "tiny": {
        "librispeech": {
            "lstm_hidden_size": 32, "lstm_layers": 1, "number_of_epochs": 1,
            "batch_size": 2, "test_splits": ["test-clean"], "num_workers": 0,
        },
        "voxceleb1": {
            "xvector_channels": [32, 32, 32, 32, 64], "embedding_size": 32,
            "number_of_epochs": 1, "batch_size": 4, "num_workers": 0,
        },
    },
}  # fmt: skip
"""Per corpus size and task: hparams/mp3s overrides that fit the time budget."""
MONITOR_READINGS = 4
"""Monitor readings after step 0: ``monitor_interval`` steps // 4 (or steps)."""
TINY_PRETRAINING = {"monitor_probe_steps": 30}
"""Extra pre-training keys of ``--size tiny`` (a smoke test, not a result)."""
ABLATIONS = {
    "summary_dropout": Ablation("summary_dropout", "utterance", "frame"),
    "layernorm": Ablation("use_layernorm", True, False),
    "codebook": Ablation("codebook_size", DEMO_KEYS["codebook_size"], 320),
    "mask_prob": Ablation("mask_prob", 0.65, 0.5),
    "lr": Ablation("lr", DEMO_KEYS["lr"], 3 * DEMO_KEYS["lr"]),
    "frontend": Ablation("frontend_grad_scale", DEMO_KEYS["frontend_grad_scale"], 1.0),
}
"""``--ablation`` name -> the SummaryMixing YAML key, its default, its alternative."""
ASR_SPLITS = ("train-clean-100", "dev-clean", "test-clean")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Read and check the command line (see the module docstring); exit 2 if bad."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add = parser.add_argument
    add("--seeds", type=int, default=3, help="repetitions (seeds 1986, 1987, ...)")
    add("--hours", type=float, default=3.0, help="synthetic Libri-Light hours")
    add("--steps", type=int, default=DEMO_KEYS["optimizer_step_limit"],
        help="optimizer steps per pre-training (default: hparams/demo.yaml's)",
    )  # fmt: skip
    add("--label-minutes", type=float, nargs=2, default=[10.0, 30.0],
        metavar=("A", "B"), help="the two labelled-data budgets of the probes",
    )  # fmt: skip
    add("--size", choices=["small", "tiny"], default="small",
        help="probe corpora and budgets: small (the report), tiny (smoke)",
    )  # fmt: skip
    add("--threads", type=int, default=1, help="CPU threads of every process")
    add("--jobs", type=int, default=2, help="processes run at once")
    add("--override", nargs="+", default=[], metavar="KEY=VALUE",
        help="pre-training YAML keys of every model, e.g. num_layers=6",
    )  # fmt: skip
    add("--asr-corpus", type=Path, help="LibriSpeech-layout root for the ASR probes")
    add("--out", type=Path, default=Path("benchmarks/out/reproduce"))
    add("--device", default="cpu", help="cpu, cuda, cuda:1, ...")
    add("--skip-probes", action="store_true")
    add("--skip-finetune", action="store_true",
        help="no CTC fine-tuning of the encoders (the frozen probes only)")  # fmt: skip
    add("--finetune-scaled", action="store_true",
        help="also fine-tune with updates in proportion to the labelled "
        "minutes (probe finetune_ctc_scaled; the smallest budget keeps the "
        "YAML's)")  # fmt: skip
    add("--ablation", metavar="NAME", help=f"one of {', '.join(ABLATIONS)}")
    args = parser.parse_args(argv)
    for option in ("seeds", "steps", "threads", "jobs"):
        if getattr(args, option) < 1:
            parser.error(f"--{option} must be 1 or more, got {getattr(args, option)}")
    if not (math.isfinite(args.hours) and args.hours > 0):
        parser.error(f"--hours must be a positive number, got {args.hours:g}")
    budgets = args.label_minutes
    if not all(math.isfinite(b) and b > 0 for b in budgets) or budgets[0] == budgets[1]:
        parser.error(
            "--label-minutes takes two different positive numbers of minutes, got "
            + " ".join(f"{b:g}" for b in budgets)
        )
    if args.ablation is not None and args.ablation not in ABLATIONS:
        parser.error(
            f"unknown ablation {args.ablation!r}; valid: {', '.join(ABLATIONS)}"
        )
    try:
        args.override_keys = parse_overrides(args.override)
        torch.device(args.device)
    except (ValueError, RuntimeError) as error:
        parser.error(str(error))
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        parser.error(f"--device {args.device}: no CUDA device on this machine")
    if args.asr_corpus is not None:
        missing = [s for s in ASR_SPLITS if not (args.asr_corpus / s).is_dir()]
        if missing:
            parser.error(
                f"--asr-corpus {args.asr_corpus} has no {', '.join(missing)}: pass "
                "a LibriSpeech root holding the split folders"
            )
    return args


def make_study(args: argparse.Namespace) -> Study:
    """Return the main study, or the ablation's (see the module docstring).

    Example
    -------
    >>> study = make_study(parse_args(["--ablation", "mask_prob", "--seeds", "2"]))
    >>> [u.name for u in study.upstreams]
    ['mask_prob-0.65', 'mask_prob-0.5', 'untrained']
    >>> study.seeds, study.out.name
    ((1986, 1987), 'ablation_mask_prob')
    """
    seeds, budgets = seeds_for(args.seeds), tuple(args.label_minutes)
    sm = MODELS["SummaryMixing"]
    if args.ablation is None:
        upstreams = (
            *(Upstream(name, "pretrained", path) for name, path in MODELS.items()),
            Upstream("untrained", "untrained", sm),
            Upstream("fbank", "fbank"),
        )
        return Study(args.out, seeds, budgets, upstreams, "MHSA")
    ablation = ABLATIONS[args.ablation]
    arms = tuple(
        Upstream(name, "pretrained", sm, {ablation.key: value})
        for name, value in zip(
            ablation.arm_names(), (ablation.default, ablation.alternative), strict=True
        )
    ) + (Upstream("untrained", "untrained", sm),)
    title = (
        f"Ablation {args.ablation}: {ablation.key} {ablation.default} (default) vs "
        f"{ablation.alternative}"
    )
    out = args.out / f"ablation_{args.ablation}"
    return Study(out, seeds, budgets, arms, arms[0].name, ablation, title)


def shared_keys(args: argparse.Namespace) -> dict[str, Any]:
    """Return the pre-training keys of every model and seed (not ``seed``).

    Example
    -------
    >>> keys = shared_keys(parse_args(["--steps", "8"]))
    >>> keys["optimizer_step_limit"], keys["log_interval"], keys["monitor_interval"]
    (8, 1, 2)
    >>> shared_keys(parse_args(["--steps", "3"]))["monitor_interval"]
    3
    """
    roots = corpus_roots(args.out)
    keys = dict(DEMO_KEYS)
    keys.update(optimizer_step_limit=args.steps, log_interval=1)
    keys["monitor_interval"] = args.steps // MONITOR_READINGS or args.steps
    keys.update(TINY_PRETRAINING if args.size == "tiny" else {})
    keys.update(args.override_keys)
    keys.update(data_folder=str(roots["librilight"]), data_layout="librilight")
    keys["valid_folder"] = str(roots["librispeech"])
    return keys


def main(argv: list[str] | None = None) -> int:
    """Run every stage, write the report; 1 if anything failed, 2 if bad input."""
    args = parse_args(argv)
    study, keys = make_study(args), shared_keys(args)
    try:
        check_before_work(args, study, keys)
    except (ValueError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    machine, out = machine_description(), args.out
    study.out.mkdir(parents=True, exist_ok=True)
    clock = StageClock(study.out / "stages.json")
    fresh = not all((root / STAMP).is_file() for root in corpus_roots(out).values())
    corpora = build_corpora(out, args.hours, args.size)
    clock.done("corpora", fresh)
    data = {"librispeech": args.asr_corpus or corpora["librispeech"],
            "voxceleb1": corpora["voxceleb1"]}  # fmt: skip
    if not args.skip_probes:
        clock.start()
        clock.done("label subsets", bool(build_subsets(out, data, study.budgets)))
    clock.start()
    own_keys = functools.partial(keys_for, keys)
    exported = export_baselines(study, own_keys)
    attempted, failures = run_pretrainings(
        study, own_keys, args.device, args.threads, args.jobs
    )
    clock.done("pre-training", bool(exported or attempted))
    probed, group_failures = 0, {}
    if not args.skip_probes:
        clock.start()
        commands = probe_commands(
            study, PROBES, out, PROBE_OVERRIDES[args.size], args.device
        )
        probed, group_failures = run_probe_groups(
            study, commands, args.threads, args.jobs
        )
        clock.done("probes", bool(probed))
    finetuned, finetune_failures = 0, {}
    schedules = {"fine-tuning": False, "fine-tuning (scaled)": True}
    for stage, scaled in schedules.items():
        if args.skip_probes or args.skip_finetune or scaled > args.finetune_scaled:
            continue
        clock.start()
        count, errors = run_finetunings(
            study, out, args.size, args.device, args.threads, args.jobs, scaled
        )
        clock.done(stage, bool(count))
        finetuned += count
        finetune_failures.update(errors)
    probes = [*PROBES] if args.skip_finetune else [*PROBES, FINETUNE]
    probes += (
        [FINETUNE_SCALED] if args.finetune_scaled and not args.skip_finetune else []
    )
    machine["load_end"] = os.getloadavg()[0]
    setup = Setup(
        command=shlex.join([sys.executable, *sys.argv]),
        machine=machine,
        stages=clock.times,
        keys=keys,
        demo_keys=[k for k in DEMO_KEYS if keys.get(k) == DEMO_KEYS[k]],
        probe_overrides=PROBE_OVERRIDES[args.size],
        corpora=describe_corpora(args, corpora),
        subsets=read_subsets(out, list(data), study.budgets),
        processes=(args.jobs, args.threads),
        baseline_mib=baseline_rss_mib(out, args.threads),
        failures=[f"pre-training {n}: {e}" for n, e in failures.items()]
        + list(group_failures.values())
        + list(finetune_failures.values()),
    )
    report, rows = write_report(study, probes, setup)
    print(
        f"Trained now: {attempted - len(failures)} pre-trainings, {exported} "
        f"baseline folders, {probed} probe runs, {finetuned} fine-tunings. "
        f"Report: {report}"
    )
    failed = any(row.status == "failed" for row in rows)
    return 1 if failures or group_failures or finetune_failures or failed else 0


if __name__ == "__main__":
    sys.exit(main())
