"""The tables of the MP3S benchmark: a row per task x probe, a column per encoder.

Each metric is shown with its unit and the direction in which it is better
(WER, CER and EER in %, lower is better; minDCF, lower is better; accuracy in
%, higher is better), with the decimals it reads best with. When two or more
encoders are compared, the better value of each row is in bold. A cell without
a value says why: ``failed``, ``skipped`` (no data) or ``pending``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from summarymixing.mp3s.benchmark.plan import RunOutcome


@dataclass(frozen=True)
class MetricInfo:
    """How a metric reads: its unit, which way is better, decimals shown."""

    unit: str
    lower_is_better: bool | None
    decimals: int


METRICS: dict[str, MetricInfo] = {
    "WER": MetricInfo("%", True, 2),
    "CER": MetricInfo("%", True, 2),
    "EER": MetricInfo("%", True, 2),
    "minDCF": MetricInfo("", True, 4),
    "accuracy": MetricInfo("%", False, 2),
}
_UNKNOWN_METRIC = MetricInfo("", None, 3)


def metric_info(name: str) -> MetricInfo:
    """How ``name`` reads; ``WER_test-other`` reads like ``WER``.

    Example
    -------
    >>> metric_info("CER_test-other") == METRICS["CER"], metric_info("loss").unit
    (True, '')
    """
    return METRICS.get(name) or METRICS.get(name.split("_")[0], _UNKNOWN_METRIC)


def metric_label(name: str) -> str:
    """Name, unit and direction of a metric, as a table shows it.

    Example
    -------
    >>> metric_label("WER"), metric_label("accuracy"), metric_label("loss")
    ('WER (%, lower is better)', 'accuracy (%, higher is better)', 'loss')
    """
    info = metric_info(name)
    notes = [info.unit] if info.unit else []
    if info.lower_is_better is not None:
        notes.append("lower is better" if info.lower_is_better else "higher is better")
    return f"{name} ({', '.join(notes)})" if notes else name


def format_value(name: str, value: float) -> str:
    """Format a metric value with the decimals its metric reads best with.

    Example
    -------
    >>> format_value("WER", 12.3456), format_value("minDCF", 0.31), format_value("x", 1)
    ('12.35', '0.3100', '1.000')
    """
    return f"{value:.{metric_info(name).decimals}f}"


def best_values(name: str, values: Sequence[float | None]) -> set[int]:
    """Find the best values (ties included) when two or more differ.

    Example
    -------
    >>> best_values("WER", [12.0, 10.5, None]), best_values("accuracy", [70.0, 80.0])
    ({1}, {1})
    >>> best_values("WER", [12.0]), best_values("WER", [3.0, 3.0])
    (set(), set())
    """
    direction = metric_info(name).lower_is_better
    known = [value for value in values if value is not None]
    if direction is None or len(known) < 2:
        return set()
    best = min(known) if direction else max(known)
    if all(value == best for value in known):
        return set()
    return {index for index, value in enumerate(values) if value == best}


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Lay out a GitHub markdown table.

    Example
    -------
    >>> print(markdown_table(["task", "A"], [["slurp", "80.50"]]))
    | task | A |
    |---|---|
    | slurp | 80.50 |
    """
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += [
        "| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |"
        for row in rows
    ]
    return "\n".join(lines)


def _by_task_and_probe(
    outcomes: Sequence[RunOutcome],
) -> dict[tuple[str, str], dict[str, RunOutcome]]:
    """``(task, probe) -> encoder -> outcome``, in the order of the runs."""
    table: dict[tuple[str, str], dict[str, RunOutcome]] = {}
    for outcome in outcomes:
        run = outcome.run
        table.setdefault((run.task, run.probe), {})[run.encoder] = outcome
    return table


def _cells(
    metric: str, outcomes: Mapping[str, RunOutcome], encoders: Sequence[str]
) -> list[str]:
    """One cell per encoder: the metric's value, or the run's status."""
    values: list[float | None] = []
    for encoder in encoders:
        outcome = outcomes.get(encoder)
        result = outcome.result if outcome is not None else None
        values.append(None if result is None else result.metrics.get(metric))
    best = best_values(metric, values)
    cells = []
    for index, (encoder, value) in enumerate(zip(encoders, values, strict=True)):
        if value is None:
            outcome = outcomes.get(encoder)
            cells.append("—" if outcome is None or outcome.result else outcome.status)
        else:
            text = format_value(metric, value)
            cells.append(f"**{text}**" if index in best else text)
    return cells


def primary_table(outcomes: Sequence[RunOutcome], encoders: Sequence[str]) -> str:
    """Tabulate the primary metric: a row per task x probe, a column per encoder."""
    rows = []
    for (task, probe), row in _by_task_and_probe(outcomes).items():
        results = [outcome.result for outcome in row.values() if outcome.result]
        metric = results[0].primary_metric if results else ""
        label = metric_label(metric) if metric else "—"
        rows.append([task, probe, label, *_cells(metric, row, encoders)])
    return markdown_table(["task", "probe", "metric", *encoders], rows)


def other_metrics_table(outcomes: Sequence[RunOutcome], encoders: Sequence[str]) -> str:
    """Every metric except the primary one, one row per task x probe x metric."""
    rows = []
    for (task, probe), row in _by_task_and_probe(outcomes).items():
        names: dict[str, None] = {}
        for outcome in row.values():
            if outcome.result is not None:
                primary = outcome.result.primary_metric
                names.update(
                    dict.fromkeys(m for m in outcome.result.metrics if m != primary)
                )
        for metric in names:
            rows.append(
                [task, probe, metric_label(metric), *_cells(metric, row, encoders)]
            )
    return markdown_table(["task", "probe", "metric", *encoders], rows) if rows else ""
