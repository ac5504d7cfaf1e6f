"""The figures of ``reproduce.py``: training curves, cost, downstream metrics.

Each function takes the ``ModelRun`` objects of :mod:`_reproduce_report` and
writes one PNG (matplotlib, no display needed).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
from _pretrain_logs import clean_step_seconds, moving_average  # noqa: E402
from matplotlib import pyplot  # noqa: E402

CURVE_POINTS = 40
"""Moving averages span about 1/CURVE_POINTS of the run."""


def _window(count: int) -> int:
    """Moving-average window for ``count`` points.

    Example
    -------
    >>> _window(900), _window(10)
    (22, 1)
    """
    return max(1, count // CURVE_POINTS)


def metric_text(value: float) -> str:
    """Two decimals, or three significant digits below one (minDCF).

    Example
    -------
    >>> metric_text(12.345), metric_text(0.00941)
    ('12.35', '0.00941')
    """
    return f"{value:.2f}" if abs(value) >= 1 else f"{value:.3g}"


def plot_curves(runs: list[Any], path: Path) -> None:
    """Loss and contrastive accuracy against the step; validation as markers."""
    figure, axes = pyplot.subplots(1, 2, figsize=(11, 4))
    for run in runs:
        steps = [record.step for record in run.log.steps]
        for axis, name in zip(axes, ("loss", "accuracy"), strict=True):
            values = [record.values.get(name, float("nan")) for record in run.log.steps]
            (line,) = axis.plot(steps, values, alpha=0.2, linewidth=0.7)
            axis.plot(
                steps, moving_average(values, _window(len(values))),
                color=line.get_color(), label=f"{run.name} (train, moving mean)",
            )  # fmt: skip
            valid = [
                (s, stats[name]) for s, stats in run.log.validation if name in stats
            ]
            if valid:
                valid_steps, valid_values = zip(*valid, strict=True)
                axis.plot(valid_steps, valid_values, "o", color=line.get_color(),
                          markersize=3, label=f"{run.name} (valid)")  # fmt: skip
    axes[0].set(xlabel="optimizer step", ylabel="loss (per masked frame)")
    axes[1].set(xlabel="optimizer step", ylabel="contrastive accuracy")
    for axis in axes:
        axis.legend(fontsize=8)
        axis.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    pyplot.close(figure)


def plot_efficiency(runs: list[Any], baseline_mib: float, path: Path) -> None:
    """Step time along the run, and peak memory split into libraries and the rest."""
    figure, (time_axis, memory_axis) = pyplot.subplots(
        1, 2, figsize=(11, 4), gridspec_kw={"width_ratios": [2, 1]}
    )
    names = [run.name for run in runs]
    for run in runs:
        points = clean_step_seconds(run.log.steps)
        if not points:
            continue
        steps, seconds = zip(*points, strict=True)
        (line,) = time_axis.plot(steps, seconds, ".", alpha=0.2, markersize=2)
        time_axis.plot(
            steps, moving_average(list(seconds), _window(len(seconds))),
            color=line.get_color(), label=run.name,
        )  # fmt: skip
    time_axis.set(xlabel="optimizer step", ylabel="wall time of the step (s)")
    time_axis.set_ylim(bottom=0)
    time_axis.legend()
    time_axis.grid(alpha=0.3)
    peaks = [run.record["peak_rss_mib"] for run in runs]
    memory_axis.bar(names, [baseline_mib] * len(runs), color="lightgrey",
                    label="interpreter + libraries")  # fmt: skip
    memory_axis.bar(names, [peak - baseline_mib for peak in peaks],
                    bottom=baseline_mib, color=["C0", "C1"][: len(runs)],
                    label="model, data, training")  # fmt: skip
    for index, peak in enumerate(peaks):
        memory_axis.text(index, peak, f"{peak:.0f}", ha="center", va="bottom")
    memory_axis.set(ylabel="peak RSS of the process (MiB)")
    memory_axis.legend(fontsize=8, loc="lower center")
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    pyplot.close(figure)


def plot_downstream(runs: list[Any], rows: list[dict[str, Any]], path: Path) -> None:
    """One bar group per task, probe and metric; a bar per model."""
    figure, axes = pyplot.subplots(
        1, len(rows), figsize=(2.6 * len(rows) + 1, 3.6), squeeze=False
    )
    for axis, row in zip(axes[0], rows, strict=True):
        values = [row[run.name] for run in runs]
        heights = [value if isinstance(value, float) else 0.0 for value in values]
        axis.bar([run.name for run in runs], heights, color=["C0", "C1"][: len(runs)])
        for index, value in enumerate(values):
            label = metric_text(value) if isinstance(value, float) else "failed"
            label = "-" if value is None else label
            axis.text(index, heights[index], label, ha="center", va="bottom")
        axis.set_title(f"{row['task']} / {row['probe']}\n{row['metric']}", fontsize=9)
        axis.tick_params(axis="x", labelsize=8)
        axis.margins(y=0.15)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    pyplot.close(figure)
