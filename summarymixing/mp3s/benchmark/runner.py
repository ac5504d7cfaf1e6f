"""Run the MP3S benchmark: every planned encoder x task x probe, resumable.

:func:`run_benchmark` takes a plan of :mod:`summarymixing.mp3s.benchmark.plan`
and runs it one probe after the other through
``summarymixing.mp3s.run.tasks.run_probe``:

* a run whose folder already holds a finished result (``read_result``) is
  reused, not trained again: re-running the same command after a crash, or with
  one more encoder, trains only what is missing (delete a run's folder to train
  it again);
* a finished run remembers its overrides (``benchmark_overrides.json``); the
  same run asked with other overrides (another IEMOCAP fold, more epochs) is
  refused with a message instead of reusing the old result;
* a run that raises is recorded as failed with its message (the traceback goes
  to ``failure.log`` in its folder) and the benchmark goes on with the others;
* a task without a data folder is recorded as skipped, never dropped silently.

The reports of :mod:`summarymixing.mp3s.benchmark.report` are rewritten after
every run, so they always show what has finished. Layout of the output folder::

    results.md  results.csv  layer_weights/<task>.png
    <encoder name>/<task>/<probe>/     everything of one run (run_probe's folder)
    baselines/<name>/                  the baselines' encoder folders
    synthetic/                         the demo corpora, built on first use

Call :func:`export_baselines` (the plan's baselines become encoder folders)
and :func:`check_encoders` before :func:`run_benchmark`.
"""

from __future__ import annotations

import json
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from summarymixing.data.synthetic import build_corpus
from summarymixing.mp3s.benchmark.plan import (
    BenchmarkPlan,
    ProbeRun,
    RunOutcome,
    default_encoder_names,
    plan_benchmark,
)
from summarymixing.mp3s.benchmark.report import write_reports
from summarymixing.mp3s.benchmark.tables import format_value
from summarymixing.mp3s.corpora.task_specs import TASK_SPECS
from summarymixing.mp3s.run import tasks as mp3s_tasks
from summarymixing.mp3s.upstream.baselines import export_baseline
from summarymixing.mp3s.upstream.loading import upstream_from_folder
from summarymixing.mp3s.upstream.weighted_layers import count_hidden_states

OVERRIDES_FILE = "benchmark_overrides.json"

__all__ = [
    "BenchmarkPlan",
    "ProbeRun",
    "RunOutcome",
    "check_encoders",
    "default_encoder_names",
    "describe_overrides",
    "export_baselines",
    "plan_benchmark",
    "run_benchmark",
]


def export_baselines(plan: BenchmarkPlan, log: Callable[[str], None] = print) -> None:
    """Export each baseline of the plan to its folder, or reuse it (same one).

    Parameters
    ----------
    plan : BenchmarkPlan
        Its ``baselines``' folders are ``plan.encoders[baseline.name]``.
    log : callable
        Receives one line per baseline.

    Raises
    ------
    ValueError
        When a baseline folder holds another baseline (another seed or source).

    Example
    -------
    >>> import tempfile
    >>> encoder = Path(tempfile.mkdtemp()) / "sm"
    >>> encoder.mkdir()
    >>> plan = plan_benchmark({"sm": encoder}, encoder.parent / "out", "slurp",
    ...                       "linear", baselines=["fbank"])
    >>> export_baselines(plan, log=lambda line: None)
    >>> check_encoders({"fbank": plan.encoders["fbank"]})
    {'fbank': 1}
    """
    for baseline in plan.baselines:
        folder = export_baseline(baseline, plan.encoders[baseline.name])
        log(f"baseline {baseline.describe()} ({folder})")


def check_encoders(encoders: Mapping[str, Path]) -> dict[str, int]:
    """Load every encoder once, so that a bad folder fails before any run.

    Returns
    -------
    dict
        Encoder name -> its number of hidden states.
    """
    return {
        name: count_hidden_states(upstream_from_folder(folder))
        for name, folder in encoders.items()
    }


def describe_overrides(overrides: Mapping[str, Mapping[str, Any]]) -> str:
    """Say which overrides every task shares and which only some tasks have.

    Example
    -------
    >>> describe_overrides({"iemocap": {"number_of_epochs": 2, "fold": 3},
    ...                     "slurp": {"number_of_epochs": 2}})
    'number_of_epochs=2; iemocap: fold=3'
    >>> describe_overrides({"slurp": {}})
    'none'
    """
    tables = list(overrides.values())
    shared = {
        key: value
        for key, value in (tables[0] if tables else {}).items()
        if all(key in table and table[key] == value for table in tables)
    }
    parts = [", ".join(f"{key}={value}" for key, value in shared.items())]
    for task, table in overrides.items():
        own = [f"{key}={value}" for key, value in table.items() if key not in shared]
        parts.append(f"{task}: {', '.join(own)}" if own else "")
    return "; ".join(part for part in parts if part) or "none"


def run_benchmark(
    plan: BenchmarkPlan,
    run_opts: Mapping | None = None,
    log: Callable[[str], None] = print,
) -> list[RunOutcome]:
    """Run (or reuse) every run of the plan, writing the reports after each.

    Call :func:`check_encoders` first to stop on a bad encoder folder before
    anything runs; here a failing run is recorded and the others go on.

    Parameters
    ----------
    plan : BenchmarkPlan
        From :func:`plan_benchmark`; it holds each task's overrides.
    run_opts : Mapping, optional
        SpeechBrain run options, e.g. ``{"device": "cpu"}``.
    log : callable
        Receives one progress line per run.

    Returns
    -------
    list of RunOutcome
        One per run, in the plan's order.
    """
    outcomes = [
        RunOutcome(run, "pending")
        if run.data_folder is not None
        else RunOutcome(
            run,
            "skipped",
            error=f"no data folder given for {run.task} (--data {run.task}=DIR)",
        )
        for run in plan.runs
    ]
    for task in dict.fromkeys(o.run.task for o in outcomes if o.status == "skipped"):
        log(f"skipped {task}: no data folder given (--data {task}=DIR)")
    todo = [index for index, o in enumerate(outcomes) if o.status == "pending"]
    last_of_task = {outcomes[index].run.task: index for index in todo}
    for count, index in enumerate(todo, start=1):
        run, prefix = outcomes[index].run, f"[{count}/{len(todo)}]"
        outcomes[index] = _run_one(
            plan, run, run_opts, lambda line, p=prefix: log(f"{p} {line}")
        )
        # A task's plot changes with a new result, and is drawn at least once.
        changed = outcomes[index].status != "reused" or index == last_of_task[run.task]
        _report(plan, outcomes, {run.task} if changed else set())
    _report(plan, outcomes, set())
    return outcomes


def _run_one(
    plan: BenchmarkPlan,
    run: ProbeRun,
    run_opts: Mapping | None,
    log: Callable[[str], None],
) -> RunOutcome:
    """Reuse, or train and evaluate, one probe; any error becomes the outcome."""
    name = f"{run.encoder} {run.task}/{run.probe}"
    overrides = dict(plan.overrides.get(run.task, {}))
    start = time.perf_counter()
    try:
        result = mp3s_tasks.read_result(run.output_folder)
        if result is not None:
            _check_overrides(run.output_folder, overrides)
            log(f"{name}: {_summary(result)} (finished before, reused)")
            return RunOutcome(run, "reused", result)
        log(f"{name}: training on {run.data_folder}")
        if plan.synthetic_size is not None:
            build_corpus(
                TASK_SPECS[run.task].synthetic_corpus,
                plan.output_folder / "synthetic",
                plan.synthetic_size,
            )
        result = mp3s_tasks.run_probe(
            run.task,
            run.probe,
            run.encoder_folder,
            run.data_folder,
            run.output_folder,
            overrides,
            dict(run_opts or {}),
        )
        (run.output_folder / OVERRIDES_FILE).write_text(_as_json(overrides))
    except Exception as error:  # recorded; the benchmark goes on
        seconds = time.perf_counter() - start
        message = f"{type(error).__name__}: {error}"
        failure_log = run.output_folder / "failure.log"
        failure_log.parent.mkdir(parents=True, exist_ok=True)
        failure_log.write_text(traceback.format_exc())
        log(
            f"{name}: FAILED after {_duration(seconds)}: {message} "
            f"(traceback: {failure_log})"
        )
        return RunOutcome(run, "failed", error=message)
    seconds = time.perf_counter() - start
    (run.output_folder / "failure.log").unlink(missing_ok=True)
    log(f"{name}: {_summary(result)} in {_duration(seconds)}")
    return RunOutcome(run, "done", result)


def _as_json(overrides: Mapping[str, Any]) -> str:
    return json.dumps(overrides, sort_keys=True, indent=1, default=str) + "\n"


def _check_overrides(folder: Path, overrides: Mapping[str, Any]) -> None:
    """Refuse to reuse a result finished with other overrides.

    Without this, changing an override (the IEMOCAP fold, the number of epochs)
    would silently reuse the result of the old setting.
    """
    path = folder / OVERRIDES_FILE
    wanted = json.loads(_as_json(overrides))
    found = json.loads(path.read_text()) if path.is_file() else wanted
    if found != wanted:
        raise ValueError(
            f"{folder} holds a result finished with overrides {found}, not "
            f"{wanted}: delete that folder to train with the new ones, or pass "
            "another --output"
        )


def _summary(result: mp3s_tasks.ProbeResult) -> str:
    metric = result.primary_metric
    return f"{metric} {format_value(metric, result.metrics[metric])}"


def _duration(seconds: float) -> str:
    minutes, seconds = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min {seconds:02d} s"


def _report(
    plan: BenchmarkPlan, outcomes: Sequence[RunOutcome], replot: set[str]
) -> None:
    note = f"Overrides: {describe_overrides(plan.overrides)}."
    if plan.synthetic_size:
        note += (
            f" Demo on the synthetic corpora ({plan.synthetic_size}): the numbers "
            "show that every task runs end to end, not how good the encoders are."
        )
    if plan.baselines:
        note += " Baselines: " + "; ".join(b.describe() for b in plan.baselines) + "."
    if plan.notes:
        note += "\n\nNot run: " + "; ".join(plan.notes) + "."
    write_reports(plan.output_folder, outcomes, plan.encoders, note.strip(), replot)
