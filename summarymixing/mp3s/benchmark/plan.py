"""Plan of the MP3S benchmark: which encoder x task x probe runs, on which data.

:func:`plan_benchmark` checks every choice (tasks, probes, encoder names and
folders, data folders) and lists the runs before anything runs, so that a typo
costs a message, not hours. Without any data folder the plan is the demo:
every task on its synthetic corpus (:mod:`summarymixing.data.synthetic`) under
``<output>/synthetic``, with :data:`DEMO_OVERRIDES` under the user's overrides
(the published 20 epochs of 14 probes take hours on a CPU even on tiny data).
A task without a data folder stays in the plan with no data: the runner
reports it as skipped instead of dropping it silently.

Baselines (:mod:`summarymixing.mp3s.upstream.baselines`: ``fbank``, ``untrained``)
join the encoders as columns of their own, after them, with their folders
under ``<output>/baselines/<name>`` (exported by the runner before any run).

Each run gets its own folder, ``<output>/<encoder name>/<task>/<probe>``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from summarymixing.data.synthetic import CORPORA, SIZES
from summarymixing.mp3s.corpora.task_specs import TASK_SPECS
from summarymixing.mp3s.run import tasks as mp3s_tasks
from summarymixing.mp3s.upstream.baselines import (
    DEFAULT_BASELINE_SEED,
    Baseline,
    parse_baselines,
)

_VALID_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]*")
DEMO_OVERRIDES: dict[str, Any] = {"number_of_epochs": 2}
"""Applied to every run of the demo unless the user overrides the same key."""


@dataclass(frozen=True)
class ProbeRun:
    """One encoder x task x probe; ``data_folder`` None means no data: skipped."""

    encoder: str
    task: str
    probe: str
    encoder_folder: Path
    data_folder: Path | None
    output_folder: Path


@dataclass
class RunOutcome:
    """What became of a run, with its result or the reason there is none.

    ``status`` is ``done`` (trained now), ``reused`` (finished before),
    ``failed``, ``skipped`` (no data folder) or ``pending`` (not run yet).
    """

    run: ProbeRun
    status: str
    result: mp3s_tasks.ProbeResult | None = None
    error: str = ""


@dataclass
class BenchmarkPlan:
    """The runs, their encoders, each task's overrides and where reports go.

    ``synthetic_size`` is set for the demo: each task's synthetic corpus is
    built under ``output_folder / "synthetic"`` before its first run.
    ``baselines`` are also in ``encoders`` (name -> its folder, to export).
    """

    output_folder: Path
    encoders: dict[str, Path]
    runs: list[ProbeRun]
    synthetic_size: str | None = None
    overrides: dict[str, dict[str, Any]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    baselines: list[Baseline] = field(default_factory=list)


def parse_choice(
    text: str, valid: Sequence[str], what: str, extra: Sequence[str] = ()
) -> list[str]:
    """Split ``a,b`` into names, ``all`` into every valid one; unknown: error.

    Example
    -------
    >>> parse_choice("slurp, iemocap", ["iemocap", "slurp"], "task")
    ['slurp', 'iemocap']
    >>> parse_choice("all", ["iemocap", "slurp"], "task")
    ['iemocap', 'slurp']
    >>> parse_choice("timit", ["iemocap", "slurp"], "task")
    Traceback (most recent call last):
    ...
    ValueError: unknown task 'timit'; valid: all, iemocap, slurp
    """
    names = [name.strip() for name in text.split(",") if name.strip()]
    if names == ["all"]:
        return list(valid)
    for name in names or [text]:
        if name not in valid:
            choices = ", ".join(["all", *extra, *valid])
            raise ValueError(f"unknown {what} {name!r}; valid: {choices}")
    return list(dict.fromkeys(names))


def select_probes(tasks: Sequence[str], probes: str) -> dict[str, tuple[str, ...]]:
    """Choose the probes of each task: ``all``, ``first`` or probe names.

    A named probe must belong to at least one chosen task; tasks that have none
    of the named probes get no runs.
    """
    available = {task: tuple(mp3s_tasks.TASKS[task]) for task in tasks}
    if probes.strip() == "first":
        return {task: names[:1] for task, names in available.items()}
    valid = list(dict.fromkeys(p for names in available.values() for p in names))
    chosen = parse_choice(probes, valid, "probe (of the chosen tasks)", ["first"])
    return {
        task: tuple(p for p in names if p in chosen)
        for task, names in available.items()
    }


def task_overrides(
    overrides: Mapping[str, Any], tasks: Sequence[str]
) -> dict[str, dict[str, Any]]:
    """Share out overrides: ``KEY`` goes to every task, ``TASK:KEY`` to one.

    Task-scoped keys set what only some YAML files have (the IEMOCAP fold) or
    what differs per task (the learning rates of Welsh and Basque).

    Example
    -------
    >>> task_overrides({"number_of_epochs": 1, "iemocap:fold": 3}, ["iemocap", "slurp"])
    {'iemocap': {'number_of_epochs': 1, 'fold': 3}, 'slurp': {'number_of_epochs': 1}}
    >>> task_overrides({"timit:lr": 1.0}, ["slurp"])
    Traceback (most recent call last):
    ...
    ValueError: override 'timit:lr' names no task; use KEY or TASK:KEY with TASK one of librispeech, buckeye, commonvoice-cy, commonvoice-eu, voxceleb1, iemocap, slurp
    """  # noqa: E501
    shared = {key: value for key, value in overrides.items() if ":" not in key}
    per_task: dict[str, dict[str, Any]] = {task: dict(shared) for task in tasks}
    for scoped, value in overrides.items():
        task, _, key = scoped.partition(":")
        if not key:
            continue
        if task not in mp3s_tasks.TASKS:
            raise ValueError(
                f"override {scoped!r} names no task; use KEY or TASK:KEY with TASK "
                f"one of {', '.join(mp3s_tasks.TASKS)}"
            )
        if task in per_task:
            per_task[task][key] = value
    return per_task


def default_encoder_names(folders: Sequence[str | Path]) -> list[str]:
    """Name encoder folders after the nearest folder name that says something.

    The export of ``recipes/pretrain.py`` lands in ``<experiment>/<seed>/encoder``,
    so ``encoder`` and all-digit folder names are passed over.

    Example
    -------
    >>> default_encoder_names(["results/w2v2_mhsa/1986/encoder", "models/w2v2-hf"])
    ['w2v2_mhsa', 'w2v2-hf']
    >>> default_encoder_names(["a/sm/encoder", "b/sm/encoder"])
    Traceback (most recent call last):
    ...
    ValueError: encoder folders a/sm/encoder and b/sm/encoder would both be called 'sm'; name them (--names A B)
    """  # noqa: E501
    names: dict[str, Path] = {}
    for folder in map(Path, folders):
        parts = [
            p
            for p in folder.absolute().parts
            if p != "encoder" and not p.isdigit() and p != folder.anchor
        ]
        name = re.sub(r"[^A-Za-z0-9._+-]", "-", parts[-1] if parts else "encoder")
        if name in names:
            raise ValueError(
                f"encoder folders {names[name]} and {folder} would both be called "
                f"{name!r}; name them (--names A B)"
            )
        names[name] = folder
    return list(names)


def plan_benchmark(
    encoders: Mapping[str, str | Path],
    output_folder: str | Path,
    tasks: str = "all",
    probes: str = "all",
    data_folders: Mapping[str, str | Path] | None = None,
    synthetic_size: str = "tiny",
    overrides: Mapping[str, Any] | None = None,
    baselines: Sequence[str] = (),
    baseline_seed: int = DEFAULT_BASELINE_SEED,
) -> BenchmarkPlan:
    """Check the choices and list the runs, before anything runs.

    Parameters
    ----------
    encoders : Mapping
        Encoder name (a folder name in the output) -> encoder folder.
    output_folder : str or Path
        Where runs and reports go.
    tasks, probes : str
        ``all`` or comma-separated names; probes also ``first``.
    data_folders : Mapping, optional
        Task -> corpus root. None or empty: the demo on synthetic corpora.
    synthetic_size : str
        Size of the demo corpora (``tiny`` or ``small``).
    overrides : Mapping, optional
        Hyper-parameter overrides, see :func:`task_overrides`; the demo puts
        them over :data:`DEMO_OVERRIDES`.
    baselines : Sequence of str
        ``fbank``, ``untrained`` (the first encoder's architecture) or
        ``untrained=PATH`` (a pre-training YAML), see
        :func:`summarymixing.mp3s.upstream.baselines.parse_baselines`.
    baseline_seed : int
        Initialisation seed of the untrained baseline.

    Returns
    -------
    BenchmarkPlan
        Task-major order, encoders side by side within each task and probe,
        then the baselines.

    Example
    -------
    >>> import tempfile
    >>> encoder = Path(tempfile.mkdtemp()) / "sm"
    >>> encoder.mkdir()
    >>> plan = plan_benchmark({"sm": encoder}, encoder.parent / "out", "slurp",
    ...                       "linear", baselines=["fbank"])
    >>> [(run.encoder, run.task, run.probe) for run in plan.runs]
    [('sm', 'slurp', 'linear'), ('fbank', 'slurp', 'linear')]
    >>> plan.encoders["fbank"].relative_to(encoder.parent).as_posix()
    'out/baselines/fbank'
    """
    output_folder = Path(output_folder)
    chosen = parse_choice(tasks, list(mp3s_tasks.TASKS), "task")
    per_task = select_probes(chosen, probes)
    folders = _checked_encoders(encoders)
    chosen_baselines = parse_baselines(
        baselines, next(iter(folders.values())), baseline_seed
    )
    folders |= _baseline_folders(chosen_baselines, folders, output_folder)
    demo = not data_folders
    if demo and synthetic_size not in SIZES:
        raise ValueError(
            f"unknown synthetic size {synthetic_size!r}; valid: {', '.join(SIZES)}"
        )
    data = _demo_data(chosen, output_folder) if demo else _checked_data(data_folders)
    plan = BenchmarkPlan(
        output_folder,
        folders,
        [],
        synthetic_size if demo else None,
        task_overrides(
            {**(DEMO_OVERRIDES if demo else {}), **(overrides or {})}, chosen
        ),
        baselines=chosen_baselines,
    )
    for task in chosen:
        if not per_task[task]:
            plan.notes.append(
                f"{task}: none of the chosen probes "
                f"(its probes: {', '.join(mp3s_tasks.TASKS[task])})"
            )
        for probe in per_task[task]:
            for name, folder in folders.items():
                plan.runs.append(
                    ProbeRun(
                        name,
                        task,
                        probe,
                        folder,
                        data.get(task),
                        output_folder / name / task / probe,
                    )
                )
    return plan


def _checked_encoders(encoders: Mapping[str, str | Path]) -> dict[str, Path]:
    if not encoders:
        raise ValueError("no encoder given; pass at least one encoder folder")
    for name, folder in encoders.items():
        if not _VALID_NAME.fullmatch(name):
            raise ValueError(
                f"encoder name {name!r} is not usable as a folder name; use "
                "letters, digits, '.', '_', '+' or '-'"
            )
        if not Path(folder).is_dir():
            raise FileNotFoundError(
                f"encoder folder {folder} does not exist: pass the 'encoder' folder "
                "written by recipes/pretrain.py or a local Hugging Face model folder"
            )
    return {name: Path(folder) for name, folder in encoders.items()}


def _baseline_folders(
    baselines: Sequence[Baseline], encoders: Mapping[str, Path], output_folder: Path
) -> dict[str, Path]:
    for baseline in baselines:
        if baseline.name in encoders:
            raise ValueError(
                f"encoder name {baseline.name!r} is the name of the "
                f"{baseline.name} baseline's column; name the encoder otherwise "
                "(--names)"
            )
    return {b.name: output_folder / "baselines" / b.name for b in baselines}


def _checked_data(data_folders: Mapping[str, str | Path]) -> dict[str, Path]:
    for task, folder in data_folders.items():
        if task not in mp3s_tasks.TASKS:
            raise ValueError(
                f"unknown task {task!r} in the data folders; valid: "
                f"{', '.join(mp3s_tasks.TASKS)}"
            )
        if not Path(folder).is_dir():
            raise FileNotFoundError(f"data folder for {task} does not exist: {folder}")
    return {task: Path(folder) for task, folder in data_folders.items()}


def _demo_data(tasks: Sequence[str], output_folder: Path) -> dict[str, Path]:
    synthetic = output_folder / "synthetic"
    return {
        task: synthetic / CORPORA[TASK_SPECS[task].synthetic_corpus] for task in tasks
    }
