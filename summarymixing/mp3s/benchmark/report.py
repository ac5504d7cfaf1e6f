"""Reports of the MP3S benchmark: ``results.csv``, ``results.md``, layer weights.

Everything is derived from the list of run outcomes of
:func:`summarymixing.mp3s.benchmark.runner.run_benchmark` and rewritten after every
run, so the files always show what has finished so far. Every file is written
to a temporary name and renamed into place: a reader (or a crash) never sees
half a file.

* ``results.csv``: one row per encoder x task x probe x metric, columns
  ``encoder, task, probe, metric, value, status, error``; a failed, skipped or
  pending run is one row with an empty metric and its status and reason.
* ``results.md``: the tables of :mod:`summarymixing.mp3s.benchmark.tables`
  (the primary metric of each task x probe, one column per encoder, then the
  other metrics), the failures with their messages, the skipped tasks and the
  layer-weight plots.
* ``layer_weights/<task>.png``: the learned layer weights
  (:mod:`summarymixing.mp3s.benchmark.plot`).
"""

from __future__ import annotations

import csv
import importlib.util
import io
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from summarymixing.atomic_files import write_atomically, write_text_atomically
from summarymixing.mp3s.benchmark.plot import plot_layer_weights
from summarymixing.mp3s.benchmark.tables import other_metrics_table, primary_table

if TYPE_CHECKING:
    from summarymixing.mp3s.benchmark.plan import RunOutcome

CSV_COLUMNS = ("encoder", "task", "probe", "metric", "value", "status", "error")


def _single_line(text: str) -> str:
    return " ".join(text.split())


def _section(title: str, lines: Sequence[str]) -> list[str]:
    return [f"## {title}", "", *lines, ""] if lines else []


def results_markdown(
    outcomes: Sequence[RunOutcome],
    encoders: Mapping[str, Path],
    note: str = "",
    plots: Mapping[str, Path] | None = None,
) -> str:
    """Compose the whole ``results.md`` (see the module docstring)."""
    names = list(encoders)
    counts = {
        status: 0 for status in ("done", "reused", "failed", "skipped", "pending")
    }
    for outcome in outcomes:
        counts[outcome.status] += 1
    parts = ["# MP3S benchmark", ""]
    parts += [f"- `{name}`: `{folder}`" for name, folder in encoders.items()]
    parts += [
        "",
        ", ".join(f"{count} {status}" for status, count in counts.items() if count)
        + " runs.",
        "",
    ]
    if note:
        parts += [note, ""]
    parts += _section("Primary metric", [primary_table(outcomes, names)])
    others = other_metrics_table(outcomes, names)
    parts += _section("Other metrics", [others] if others else [])
    failed = [
        f"- `{o.run.encoder}` {o.run.task} / {o.run.probe}: {_single_line(o.error)}"
        for o in outcomes
        if o.status == "failed"
    ]
    skipped = {o.run.task: o.error for o in outcomes if o.status == "skipped"}
    images = [f"![{task}]({path.as_posix()})\n" for task, path in (plots or {}).items()]
    parts += _section("Failures", failed)
    parts += _section("Skipped", [f"- {task}: {why}" for task, why in skipped.items()])
    parts += _section("Layer weights", images)
    return "\n".join(parts)


def results_csv(outcomes: Sequence[RunOutcome]) -> str:
    """Compose the whole ``results.csv`` (see the module docstring)."""
    stream = io.StringIO()
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for outcome in outcomes:
        run = outcome.run
        key = (run.encoder, run.task, run.probe)
        if outcome.result is None:
            writer.writerow((*key, "", "", outcome.status, _single_line(outcome.error)))
            continue
        for metric, value in outcome.result.metrics.items():
            writer.writerow((*key, metric, repr(float(value)), outcome.status, ""))
    return stream.getvalue()


def _layer_weights_by_task(
    outcomes: Sequence[RunOutcome],
) -> dict[str, dict[str, dict[str, list[float]]]]:
    """Task -> probe -> encoder -> learned layer weights, for finished runs."""
    weights: dict[str, dict[str, dict[str, list[float]]]] = {}
    for outcome in outcomes:
        if outcome.result is not None:
            run = outcome.run
            per_probe = weights.setdefault(run.task, {}).setdefault(run.probe, {})
            per_probe[run.encoder] = list(outcome.result.layer_weights)
    return weights


def write_reports(
    output_folder: Path,
    outcomes: Sequence[RunOutcome],
    encoders: Mapping[str, Path],
    note: str = "",
    replot: Collection[str] | None = None,
) -> dict[str, Path]:
    """Write ``results.csv``, the layer-weight PNGs and ``results.md``.

    Parameters
    ----------
    output_folder : Path
        Where the reports go.
    outcomes : Sequence of RunOutcome
        Every run of the benchmark, finished or not.
    encoders : Mapping
        Encoder name -> folder, in column order.
    note : str
        A paragraph for the top of ``results.md``.
    replot : Collection of str, optional
        The tasks whose plots changed; None: every task with a result.

    Returns
    -------
    dict
        ``"csv"``, ``"markdown"`` and one entry per task with a plot -> its path.
    """
    output_folder = Path(output_folder)
    written = {
        "csv": write_text_atomically(
            output_folder / "results.csv", results_csv(outcomes)
        )
    }
    plots: dict[str, Path] = {}
    weights = _layer_weights_by_task(outcomes)
    if weights and importlib.util.find_spec("matplotlib") is None:
        note += (
            "\n\nLayer-weight plots need matplotlib: `pip install summarymixing[plot]`."
        )
        weights = {}
    for task, per_probe in weights.items():
        plots[task] = Path("layer_weights") / f"{task}.png"
        if replot is not None and task not in replot:
            continue
        figure = plot_layer_weights(task, per_probe, list(encoders))
        write_atomically(
            output_folder / plots[task],
            lambda tmp, figure=figure: figure.savefig(tmp, format="png", dpi=110),
        )
    markdown = results_markdown(outcomes, encoders, note, plots)
    written["markdown"] = write_text_atomically(output_folder / "results.md", markdown)
    return {**written, **{task: output_folder / p for task, p in plots.items()}}
