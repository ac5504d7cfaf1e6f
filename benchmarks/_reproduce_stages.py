"""The stages of ``reproduce.py``: corpora, label subsets, upstreams, probes.

Each stage reuses what an earlier run finished, so that re-running the same
command trains only what is missing:

* :func:`build_corpora`: the synthetic corpora (``build_corpus`` stamps them);
* :func:`build_subsets`: the label subsets (:mod:`_label_subsets`);
* :func:`export_baselines`: the FBANK folder and every seed's untrained
  encoder (``reproduce.json`` next to it says which keys and seed made it);
* :func:`run_pretrainings`: ``recipes/pretrain.py`` per pre-trained upstream
  and seed, up to ``jobs`` at once (:func:`_pretrain_runs.pretrain`);
* :func:`run_probe_groups`: ``recipes/mp3s_benchmark.py`` per seed and label
  budget, up to ``jobs`` at once; the benchmark reuses finished runs, records
  a failed one and goes on.

A failure of one pre-training or probe group is returned, not raised: the
others go on and the report shows what is missing.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from _label_subsets import (
    SubsetRecord,
    librispeech_subset,
    read_record,
    voxceleb_subset,
)
from _pretrain_runs import pretrain, run_measured
from _reproduce_study import Study, Upstream, subset_folder

from summarymixing.data.synthetic import CORPORA, build_corpus
from summarymixing.export import export_fbank_baseline, export_untrained

ROOT = Path(__file__).resolve().parents[1]
BENCHMARK = ROOT / "recipes" / "mp3s_benchmark.py"
RECORD = "reproduce.json"
Keys = Callable[[Upstream, int], dict[str, Any]]
"""(upstream, seed) -> the pre-training YAML keys of that run."""


def corpus_roots(out: Path) -> dict[str, Path]:
    """Return the root of every synthetic corpus of a study, built or not.

    Example
    -------
    >>> corpus_roots(Path("/o"))["voxceleb1"].as_posix()
    '/o/corpora/VoxCeleb1'
    """
    names = ("librilight", "librispeech", "voxceleb1")
    return {name: (out / "corpora" / CORPORA[name]).resolve() for name in names}


def build_corpora(out: Path, hours: float, size: str) -> dict[str, Path]:
    """Synthesise (or reuse) Libri-Light of ``hours`` and the probe corpora."""
    folder = out / "corpora"
    return {
        "librilight": build_corpus("librilight", folder, seed=0, hours=hours),
        "librispeech": build_corpus("librispeech", folder, size=size, seed=0),
        "voxceleb1": build_corpus("voxceleb1", folder, size=size, seed=0),
    }


def build_subsets(
    out: Path, sources: Mapping[str, Path], budgets: Sequence[float]
) -> int:
    """Write (or reuse) the label subset of every task and budget.

    Returns
    -------
    int
        How many were written now.
    """
    builders = {"librispeech": librispeech_subset, "voxceleb1": voxceleb_subset}
    written = 0
    for task in sources:
        for budget in budgets:
            folder = subset_folder(out, task, budget)
            written += read_record(folder) is None
            builders[task](sources[task], folder, budget)
    return written


def read_subsets(
    out: Path, tasks: Sequence[str], budgets: Sequence[float]
) -> dict[tuple[str, float], SubsetRecord]:
    """Return the record of every label subset there is."""
    return {
        (task, budget): record
        for task in tasks
        for budget in budgets
        if (record := read_record(subset_folder(out, task, budget)))
    }


def untrained_record(upstream: Upstream, keys: dict[str, Any], seed: int) -> dict:
    """Return what ``reproduce.json`` of an untrained encoder folder says."""
    return {"hparams": str(upstream.hparams), "keys": keys, "seed": seed}


def export_baselines(study: Study, keys_for: Keys) -> int:
    """Export (or reuse) the FBANK folder and the untrained encoders.

    Returns
    -------
    int
        How many folders were written now.
    """
    written = []
    for upstream in study.upstreams:
        if upstream.kind == "fbank":
            folder = study.encoder_folder(upstream, study.seeds[0])
            if not (folder / "encoder.json").is_file():
                written.append(export_fbank_baseline(folder))
        elif upstream.kind == "untrained":
            for seed in study.seeds:
                folder = study.encoder_folder(upstream, seed)
                if (folder / RECORD).is_file():
                    continue
                keys = keys_for(upstream, seed)
                written.append(export_untrained(folder, upstream.hparams, keys, seed))
                record = untrained_record(upstream, keys, seed)
                (folder / RECORD).write_text(json.dumps(record, indent=2) + "\n")
    for folder in written:
        print(f"exported {folder}", flush=True)
    return len(written)


def run_pretrainings(
    study: Study, keys_for: Keys, device: str, threads: int, jobs: int
) -> tuple[int, dict[str, str]]:
    """Pre-train every pre-trained upstream x seed, ``jobs`` at a time.

    Runs are submitted seed by seed, the models of one seed side by side, so
    that with two jobs the models compared run at the same time and share the
    machine alike.

    Returns
    -------
    tuple of (int, dict)
        How many had no finished record (so ran now), and ``name seed`` ->
        error of each that failed.
    """
    runs = [(upstream, seed) for seed in study.seeds for upstream in study.pretrained]
    fresh = sum(not (study.pretrain_folder(u, s) / RECORD).is_file() for u, s in runs)
    failures: dict[str, str] = {}
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = {
            f"{upstream.name} seed {seed}": pool.submit(
                pretrain,
                f"{upstream.name} seed {seed}",
                upstream.hparams,
                study.pretrain_folder(upstream, seed),
                device,
                keys_for(upstream, seed),
                threads,
            )
            for upstream, seed in runs
        }
        for name, future in futures.items():
            try:
                future.result()
            except (RuntimeError, ValueError) as error:
                failures[name] = str(error)
                print(f"{name}: FAILED: {error}", flush=True)
    return fresh, failures


def probe_command(
    study: Study,
    seed: int,
    budget: float,
    probes: Sequence[tuple[str, str]],
    data: Mapping[str, Path],
    overrides: Mapping[str, Mapping[str, Any]],
    device: str,
) -> list[str] | None:
    """Return the MP3S benchmark command of one seed and budget (None: no upstream).

    ``overrides``: task -> probe YAML keys; every task also gets ``seed``.
    Upstreams whose encoder folder is not there (a failed pre-training) are
    left out; the report shows their probes as missing.
    """
    command = [sys.executable, str(BENCHMARK)]
    names = []
    for upstream in study.upstreams:
        folder = study.encoder_folder(upstream, seed).resolve()
        if (folder / "encoder.json").is_file():
            command += ["--encoder", str(folder)]
            names.append(upstream.name)
    if not names:
        return None
    command += ["--names", *names, "--device", device]
    command += ["--tasks", ",".join(task for task, _ in probes)]
    command += ["--probes", ",".join(probe for _, probe in probes)]
    command += ["--output", str(study.group_folder(seed, budget).resolve())]
    for task, _ in probes:
        command += ["--data", f"{task}={Path(data[task]).resolve()}"]
    command += ["--override", f"seed={seed}"]
    for task, keys in overrides.items():
        for key, value in keys.items():
            command += ["--override", f"{task}:{key}={json.dumps(value)}"]
    return command


def probe_commands(
    study: Study,
    probes: Sequence[tuple[str, str]],
    out: Path,
    overrides: Mapping[str, Mapping[str, Any]],
    device: str,
) -> dict[tuple[int, float], list[str] | None]:
    """Return the :func:`probe_command` of every seed and budget (label subsets)."""
    return {
        (seed, budget): probe_command(
            study,
            seed,
            budget,
            probes,
            {task: subset_folder(out, task, budget) for task, _ in probes},
            overrides,
            device,
        )
        for seed in study.seeds
        for budget in study.budgets
    }


def run_logged(
    name: str, command: list[str], folder: Path, threads: int | None
) -> str | None:
    """Run one stage command into ``folder/stdout.txt``, saying when and how it ends.

    Returns None when it exits 0, else the error line of the report.

    Example
    -------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> run_logged("demo", [sys.executable, "-c", "exit(3)"], folder, 1)
    demo: running (...)
    demo: exit 3 after 0 s
    'demo: exit status 3 (.../stdout.txt)'
    """
    folder.mkdir(parents=True, exist_ok=True)
    print(f"{name}: running ({folder / 'stdout.txt'})", flush=True)
    start = time.time()
    cost = run_measured(command, folder / "stdout.txt", threads)
    seconds = time.time() - start
    print(f"{name}: exit {cost['returncode']} after {seconds:.0f} s", flush=True)
    if cost["returncode"] != 0:
        return f"{name}: exit status {cost['returncode']} ({folder / 'stdout.txt'})"
    return None


def run_probe_groups(
    study: Study,
    commands: Mapping[tuple[int, float], list[str] | None],
    threads: int,
    jobs: int,
) -> tuple[int, dict[str, str]]:
    """Run the MP3S benchmark of every seed and budget, ``jobs`` at a time.

    Returns
    -------
    tuple of (int, dict)
        How many probe results were written now, and group -> error of every
        group whose benchmark did not exit 0 (1: some run failed).
    """
    before = _finished(study)

    def run(seed: int, budget: float, command: list[str] | None) -> str | None:
        name = f"probes seed {seed}, {budget:g} min"
        if command is None:
            return f"{name}: no upstream to probe"
        return run_logged(name, command, study.group_folder(seed, budget), threads)

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = {
            key: pool.submit(run, *key, command) for key, command in commands.items()
        }
    failures = {
        f"seed {seed}, {budget:g} min": error
        for (seed, budget), future in futures.items()
        if (error := future.result()) is not None
    }
    return len(_finished(study) - before), failures


def _finished(study: Study) -> set[Path]:
    return set(study.out.glob("seed-*/probes-*min/*/*/*/result.json"))
