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
  the peak that is the interpreter and libraries;
* the downstream metrics of both encoders side by side.

Models and schedule are those of the recipe's demo, ``hparams/demo.yaml``
(``--override`` changes them for both). Every stage is skipped when re-run
once finished: a pre-training with its exported encoder and measurements
(``<out>/pretrain/<model>/reproduce.json``), a probe with its ``result.json``.
Delete a folder to redo it.

Usage:
    python benchmarks/reproduce.py                  # the full run, ~45 min, 2 cores
    python benchmarks/reproduce.py --size tiny --steps 20 --out /tmp/repro  # smoke
    python benchmarks/reproduce.py --skip-probes --override num_layers=6
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import time
import traceback
from concurrent.futures import ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any

import yaml
from _pretrain_logs import clean_step_seconds, parse_log
from _reproduce_report import ModelRun, Setup, machine_description, write_report
from _training_step import parse_overrides

from summarymixing.data.synthetic import build_corpus
from summarymixing.mp3s import tasks as mp3s_tasks

ROOT = Path(__file__).resolve().parents[1]
RECIPE = ROOT / "recipes" / "pretrain.py"
DEMO = ROOT / "hparams" / "demo.yaml"
MODELS = {
    "SummaryMixing": ROOT / "hparams" / "w2v2_summarymixing.yaml",
    "MHSA": ROOT / "hparams" / "w2v2_mhsa.yaml",
}
PROBES = (("librispeech", "bilstm"), ("voxceleb1", "xvector"))
PROBE_OVERRIDES: dict[str, dict[str, dict[str, Any]]] = {
    "small": {
        "librispeech": {
            "lstm_hidden_size": 256, "number_of_epochs": 6, "batch_size": 8,
            "probe_lr": 0.001, "test_splits": ["test-clean"], "num_workers": 0,
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
POLL_SECONDS = 20.0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Read the command line (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("benchmarks/out/reproduce"))
    parser.add_argument(
        "--steps", type=int, default=None,
        help="optimizer steps of each pre-training (default: hparams/demo.yaml's)",
    )  # fmt: skip
    parser.add_argument(
        "--size", choices=["tiny", "small"], default="small",
        help="synthetic corpora and probe budget: small (the report), tiny (smoke)",
    )  # fmt: skip
    parser.add_argument("--skip-probes", action="store_true")
    parser.add_argument("--device", default="cpu", help="cpu, cuda, cuda:1, ...")
    parser.add_argument(
        "--override", nargs="+", default=[], metavar="KEY=VALUE",
        help="pre-training YAML keys changed in both models, e.g. num_layers=6",
    )  # fmt: skip
    args = parser.parse_args(argv)
    if args.steps is not None and args.steps < 1:
        parser.error(f"--steps must be a positive number, got {args.steps}")
    return args


def pretraining_overrides(args: argparse.Namespace) -> dict[str, Any]:
    """Return the keys given to both pre-trainings: demo, per-step log, --override.

    Example
    -------
    >>> overrides = pretraining_overrides(parse_args(["--steps", "7"]))
    >>> overrides["optimizer_step_limit"], overrides["log_interval"]
    (7, 1)
    """
    overrides = yaml.safe_load(DEMO.read_text())
    overrides["log_interval"] = 1
    if args.steps is not None:
        overrides["optimizer_step_limit"] = args.steps
    overrides.update(parse_overrides(args.override))
    return overrides


def command_line_value(value: Any) -> str:
    """Spell a YAML value for ``recipes/pretrain.py --key=value``.

    Run options (``--precision``, ...) arrive as raw strings, so strings stay
    unquoted; lists go in YAML flow style.

    Example
    -------
    >>> command_line_value("fp32"), command_line_value([144]), command_line_value(1)
    ('fp32', '[144]', '1')
    """
    if isinstance(value, str):
        return value
    return json.dumps(value)


def pretraining_command(
    hparams: Path, folder: Path, corpora: dict[str, Path], args: argparse.Namespace
) -> list[str]:
    """Return the ``recipes/pretrain.py`` command line of one model."""
    command = [sys.executable, str(RECIPE), str(hparams), f"--device={args.device}"]
    command += ["--noprogressbar", f"--output_folder={folder}"]
    command += [f"--data_folder={corpora['librilight']}", "--data_layout=librilight"]
    command += [f"--valid_folder={corpora['librispeech']}"]
    for key, value in pretraining_overrides(args).items():
        command.append(f"--{key}={command_line_value(value)}")
    return command


def run_measured(command: list[str], log_file: Path) -> tuple[int, float]:
    """Run ``command`` (output to ``log_file``); return (exit code, peak RSS MiB).

    The peak is the child's ``ru_maxrss`` from ``os.wait4``: that one process,
    not the maximum over all children as ``RUSAGE_CHILDREN`` would give.
    """
    with log_file.open("ab") as output:
        child = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    return child.returncode, usage.ru_maxrss / 1024


def progress_line(name: str, folder: Path, steps: int) -> str | None:
    """Describe the last logged step of a running pre-training and its pace."""
    log_file = folder / "log.txt"
    if not log_file.is_file():
        return None
    records, _ = parse_log(log_file.read_text().splitlines())
    if not records:
        return None
    last = records[-1]
    recent = [seconds for _, seconds in clean_step_seconds(records[-50:])]
    pace = f", {statistics.median(recent):.2f} s/step" if recent else ""
    values = ", ".join(
        f"{key} {last.values[key]:.3f}" for key in ("loss", "accuracy")
        if key in last.values
    )  # fmt: skip
    return f"  {name}: step {last.step}/{steps}{pace}, {values}"


def run_with_progress(
    name: str, command: list[str], folder: Path, steps: int
) -> tuple[int, float]:
    """:func:`run_measured` in a thread, printing progress every POLL_SECONDS."""
    with ThreadPoolExecutor(1) as pool:
        future = pool.submit(run_measured, command, folder / "stdout.txt")
        while wait([future], timeout=POLL_SECONDS).not_done:
            line = progress_line(name, folder, steps)
            if line:
                print(line, flush=True)
        return future.result()


def pretrain(
    name: str, corpora: dict[str, Path], args: argparse.Namespace
) -> dict[str, Any]:
    """Pre-train one model (or reuse a finished run); return its measurements."""
    folder = (args.out / "pretrain" / name).resolve()
    record_file = folder / "reproduce.json"
    command = pretraining_command(MODELS[name], folder, corpora, args)
    if record_file.is_file():
        record = json.loads(record_file.read_text())
        if record["command"] != command:
            raise ValueError(
                f"{folder} holds a pre-training run with another command "
                f"({shlex.join(record['command'])}); delete it or pass another --out"
            )
        print(f"{name}: pre-trained before, reused ({folder})")
        return record
    folder.mkdir(parents=True, exist_ok=True)
    steps = pretraining_overrides(args)["optimizer_step_limit"]
    print(f"{name}: pre-training {steps} steps in {folder}", flush=True)
    resumed = (folder / "log.txt").is_file()
    start = time.time()
    returncode, peak_mib = run_with_progress(name, command, folder, steps)
    if returncode != 0:
        raise RuntimeError(
            f"pre-training {name} failed (exit code {returncode}); its output is in "
            f"{folder / 'stdout.txt'}. Re-running this command resumes it."
        )
    record = {
        "command": command,
        "wall_seconds": time.time() - start,
        "peak_rss_mib": peak_mib,
        "resumed": resumed,
    }
    record_file.write_text(json.dumps(record, indent=2) + "\n")
    return record


def baseline_rss_mib(out: Path) -> float:
    """Peak RSS of ``recipes/pretrain.py --help``: interpreter and libraries."""
    code, peak = run_measured([sys.executable, str(RECIPE), "--help"], out / "help.txt")
    if code != 0:
        raise RuntimeError(f"{RECIPE} --help failed; see {out / 'help.txt'}")
    return peak


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
    machine = machine_description()
    seconds_file = args.out / "stage_seconds.json"
    stages = json.loads(seconds_file.read_text()) if seconds_file.is_file() else {}
    start = time.time()
    corpora = build_corpora(args.size, args.out)
    stages.setdefault("corpora", time.time() - start)
    records = {}
    for name in MODELS:
        records[name] = pretrain(name, corpora, args)
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
        baseline_mib=baseline_rss_mib(args.out),
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
