"""A small-scale reproduction of the paper's comparison, in one command.

SummaryMixing and attention (MHSA) wav2vec 2.0 models are pre-trained by
``recipes/pretrain.py`` for the same number of steps on the same synthetic
corpus with the same seed (so the same batches in the same order), then both
frozen encoders are probed with two MP3S tasks (LibriSpeech ASR with the BiLSTM
CTC probe, VoxCeleb1 speaker verification with the x-vector probe) through
``summarymixing.mp3s.tasks.run_probe``. The report, ``<out>/report.md`` with
``curves.png``, ``efficiency.png`` and ``downstream.png``, shows:

* loss and contrastive accuracy against the step (each step logged: the runs
  get ``log_interval`` 1), and validation on LibriSpeech dev-clean;
* time per step: the median wall time between consecutive step lines of the
  recipe's ``log.txt``, over steps without validation, checkpointing or a new
  epoch in between (:mod:`_pretrain_logs`);
* peak memory of each pre-training process: its ``ru_maxrss`` as the kernel
  reports it when the process is reaped (``os.wait4``; the peak resident set
  size, on CPU), and the same for ``recipes/pretrain.py --help``, a process
  that imports everything the recipe imports and builds nothing: the share of
  the peak that is the interpreter and libraries (host memory also with
  ``--device cuda``: GPU memory is measured by ``pretrain_step.py``);
* the downstream metrics of both encoders side by side.

Models and schedule are those of the recipe's demo, ``hparams/demo.yaml``,
trained for ``--steps`` (1500) instead of the demo's limit; ``--override``
changes any key for both. The probes are smaller and shorter than the
published ones (``PROBE_OVERRIDES``) to fit the budget. Every stage is skipped
when re-run once finished: a pre-training with its exported encoder and
measurements (``<out>/pretrain/<model>/reproduce.json``), a probe with its
``result.json``. Delete a folder to redo it.

On a machine shared with other work, multi-threaded PyTorch spends most of its
time waiting for its threads (here a probe epoch took 5x longer with 2 threads
than with 1): pass ``--threads 1`` there.

Usage:
    python benchmarks/reproduce.py                  # the full run, ~40 min, 2 cores
    python benchmarks/reproduce.py --threads 1      # the same on a busy machine
    python benchmarks/reproduce.py --size tiny --steps 20 --out /tmp/repro  # smoke
    python benchmarks/reproduce.py --skip-probes --override num_layers=6
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import sys
import time
import traceback
from pathlib import Path
from typing import Any

import torch
import yaml
from _pretrain_runs import baseline_rss_mib, pretrain
from _reproduce_report import ModelRun, Setup, write_report
from _training_step import parse_overrides

from summarymixing.data.synthetic import build_corpus
from summarymixing.mp3s import tasks as mp3s_tasks

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "hparams" / "demo.yaml"
MODELS = {
    "SummaryMixing": ROOT / "hparams" / "w2v2_summarymixing.yaml",
    "MHSA": ROOT / "hparams" / "w2v2_mhsa.yaml",
}
DEFAULT_STEPS = 1500
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


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Read the command line (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("benchmarks/out/reproduce"))
    parser.add_argument(
        "--steps", type=int, default=DEFAULT_STEPS,
        help=f"optimizer steps of each pre-training (default {DEFAULT_STEPS})",
    )  # fmt: skip
    parser.add_argument(
        "--size", choices=["tiny", "small"], default="small",
        help="synthetic corpora and probe budget: small (the report), tiny (smoke)",
    )  # fmt: skip
    parser.add_argument("--skip-probes", action="store_true")
    parser.add_argument("--device", default="cpu", help="cpu, cuda, cuda:1, ...")
    parser.add_argument(
        "--threads", type=int, default=None,
        help="CPU threads of every stage (default: one per core); 1 is much "
        "faster on a machine busy with other work",
    )  # fmt: skip
    parser.add_argument(
        "--override", nargs="+", default=[], metavar="KEY=VALUE",
        help="pre-training YAML keys changed in both models, e.g. num_layers=6",
    )  # fmt: skip
    args = parser.parse_args(argv)
    for option in ("steps", "threads"):
        value = getattr(args, option)
        if value is not None and value < 1:
            parser.error(f"--{option} must be a positive number, got {value}")
    return args


def pretraining_overrides(args: argparse.Namespace) -> dict[str, Any]:
    """Return the keys of both pre-trainings: demo, steps, per-step log, --override.

    Example
    -------
    >>> overrides = pretraining_overrides(parse_args(["--steps", "7"]))
    >>> overrides["optimizer_step_limit"], overrides["log_interval"]
    (7, 1)
    """
    overrides = yaml.safe_load(DEMO.read_text())
    overrides.update(optimizer_step_limit=args.steps, log_interval=1)
    overrides.update(parse_overrides(args.override))
    return overrides


def probe(
    name: str,
    corpora: dict[str, Path],
    args: argparse.Namespace,
    stage_seconds: dict[str, float],
) -> dict[tuple[str, str], Any]:
    """Probe one encoder on every task of PROBES; a failure is kept as a string.

    The wall time of every probe trained now goes into ``stage_seconds``.
    """
    encoder = (args.out / "pretrain" / name / "encoder").resolve()
    results: dict[tuple[str, str], Any] = {}
    for task, probe_name in PROBES:
        folder = args.out / "probes" / name / f"{task}-{probe_name}"
        result = mp3s_tasks.read_result(folder)
        if result is not None:
            print(f"{name} {task}/{probe_name}: finished before, reused")
            results[task, probe_name] = result
            continue
        print(f"{name} {task}/{probe_name}: training the probe", flush=True)
        start = time.time()
        try:
            result = mp3s_tasks.run_probe(
                task,
                probe_name,
                encoder,
                corpora[task],
                folder,
                dict(PROBE_OVERRIDES[args.size][task]),
                {"device": args.device, "noprogressbar": True},
            )
        except Exception as error:  # recorded in the report; the others go on
            folder.mkdir(parents=True, exist_ok=True)
            (folder / "failure.log").write_text(traceback.format_exc())
            results[task, probe_name] = f"{type(error).__name__}: {error}"
            print(f"  FAILED: {results[task, probe_name]} ({folder / 'failure.log'})")
            continue
        stage_seconds[f"{name} {task}/{probe_name}"] = time.time() - start
        metric = result.primary_metric
        print(f"  {metric} {result.metrics[metric]:.2f} in {time.time() - start:.0f} s")
        results[task, probe_name] = result
    return results


def machine_description() -> dict[str, Any]:
    """CPU model, cores, memory, library versions and the current load average.

    Example
    -------
    >>> machine_description()["logical_cores"] >= 1
    True
    """
    cpu, memory = platform.processor() or platform.machine(), None
    cpuinfo, meminfo = Path("/proc/cpuinfo"), Path("/proc/meminfo")
    if cpuinfo.is_file():
        lines = cpuinfo.read_text().splitlines()
        models = [line for line in lines if line.startswith("model name")]
        cpu = models[0].split(":", 1)[1].strip() if models else cpu
    if meminfo.is_file():
        memory = int(meminfo.read_text().split()[1]) / 2**20
    import speechbrain

    return {
        "cpu": cpu,
        "logical_cores": os.cpu_count() or 1,
        "usable_cores": len(os.sched_getaffinity(0)),
        "memory_gib": memory,
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "speechbrain": speechbrain.__version__,
        "python": platform.python_version(),
        "cuda": torch.cuda.get_device_name() if torch.cuda.is_available() else None,
        "load_start": os.getloadavg(),
    }


def build_corpora(size: str, out: Path) -> dict[str, Path]:
    """Synthesise (or reuse) the pre-training and probing corpora."""
    names = {"librilight": "librilight", "librispeech": "librispeech"}
    names.update({task: mp3s_tasks.SYNTHETIC_CORPUS[task] for task, _ in PROBES})
    return {
        key: build_corpus(corpus, out / "corpora", size=size, seed=0).resolve()
        for key, corpus in names.items()
    }


def main(argv: list[str] | None = None) -> int:
    """Run every stage, write the report; exit code 1 when a probe failed."""
    args = parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    machine = machine_description()
    seconds_file = args.out / "stage_seconds.json"
    stages = json.loads(seconds_file.read_text()) if seconds_file.is_file() else {}
    start = time.time()
    corpora = build_corpora(args.size, args.out)
    stages.setdefault("corpora", time.time() - start)
    keys = {
        "data_folder": str(corpora["librilight"]), "data_layout": "librilight",
        "valid_folder": str(corpora["librispeech"]), **pretraining_overrides(args),
    }  # fmt: skip
    records = {}
    for name, hparams in MODELS.items():
        folder = args.out / "pretrain" / name
        records[name] = pretrain(name, hparams, folder, args.device, keys, args.threads)
        stages[f"{name} pre-training"] = records[name]["wall_seconds"]
        seconds_file.write_text(json.dumps(stages, indent=2) + "\n")
    probes = {}
    for name in [] if args.skip_probes else MODELS:
        probes[name] = probe(name, corpora, args, stages)
        seconds_file.write_text(json.dumps(stages, indent=2) + "\n")
    machine["load_end"] = os.getloadavg()
    setup = Setup(
        command=shlex.join([sys.executable, *sys.argv]),
        overrides=pretraining_overrides(args),
        size=args.size,
        baseline_mib=baseline_rss_mib(args.out, args.threads),
        probe_overrides=PROBE_OVERRIDES[args.size],
        machine=machine,
        stage_seconds=stages,
    )
    runs = [
        ModelRun(name, args.out / "pretrain" / name, records[name], probes.get(name))
        for name in MODELS
    ]
    print(f"Report: {write_report(args.out, runs, setup)}")
    failed = any(isinstance(r, str) for p in probes.values() for r in p.values())
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
