"""The figures of ``reproduce.py``: training curves, downstream bars, cost.

Each function reads what it draws from disk through :mod:`_reproduce_results`
and writes one PNG (matplotlib, no display needed); mean over seeds, with a
band or error bar of one sample standard deviation.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
from _pretrain_logs import moving_average  # noqa: E402
from _reproduce_results import (  # noqa: E402
    METRICS,
    Summary,
    SummaryKey,
    cost_numbers,
    curve,
    mean_band,
    read_steps,
    step_times,
    summarise,
)
from _reproduce_study import Study  # noqa: E402
from matplotlib import pyplot  # noqa: E402

CURVE_POINTS = 40
"""Moving averages of per-step values span about 1/CURVE_POINTS of the run."""
PANELS = (
    ("step", "loss", "training loss (moving mean)"),
    ("valid", "loss", "dev-clean loss"),
    ("monitor", "monitor_cer", "quality monitor CER (%)"),
    ("monitor", "monitor_speaker_eer", "quality monitor speaker EER (%)"),
)


def smoothed(points: list[tuple[int, float]]) -> list[tuple[int, float]]:
    """Return the moving mean of a curve, over about 1/CURVE_POINTS of it.

    Example
    -------
    >>> smoothed([(1, 1.0), (2, 3.0)])
    [(1, 1.0), (2, 3.0)]
    """
    window = max(1, len(points) // CURVE_POINTS)
    values = moving_average([value for _, value in points], window)
    return [(step, value) for (step, _), value in zip(points, values, strict=True)]


def plot_curves(study: Study, path: Path) -> None:
    """Training loss, dev-clean loss, monitor CER and EER against the step."""
    figure, axes = pyplot.subplots(1, len(PANELS), figsize=(5 * len(PANELS), 4))
    for index, upstream in enumerate(study.pretrained):
        color = f"C{index}"
        for axis, (kind, name, _) in zip(axes, PANELS, strict=True):
            curves = []
            for seed in study.seeds:
                points = curve(
                    read_steps(study.pretrain_folder(upstream, seed))[kind], name
                )
                curves.append(smoothed(points) if kind == "step" else points)
            steps, mean, spread = mean_band(curves)
            if not steps:
                continue
            marker = "-" if kind == "step" else "o-"
            axis.plot(
                steps,
                mean,
                marker,
                color=color,
                markersize=3,
                label=f"{upstream.name} ({sum(map(bool, curves))} seeds)",
            )
            axis.fill_between(steps, mean - spread, mean + spread, color=color,
                              alpha=0.2, linewidth=0)  # fmt: skip
    for axis, (_, _, label) in zip(axes, PANELS, strict=True):
        axis.set(xlabel="optimizer step", ylabel=label)
        axis.grid(alpha=0.3)
        axis.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    pyplot.close(figure)


def plot_downstream(
    study: Study,
    probes: list[tuple[str, str]],
    table: dict[SummaryKey, Summary | None],
    path: Path,
) -> None:
    """One panel per task and budget: the primary metric of every upstream."""
    panels = [(task, probe, b) for task, probe in probes for b in study.budgets]
    figure, axes = pyplot.subplots(
        1, len(panels), figsize=(3.2 * len(panels) + 1, 3.8), squeeze=False
    )
    names = [upstream.name for upstream in study.upstreams]
    for axis, (task, probe, budget) in zip(axes[0], panels, strict=True):
        metric = METRICS[task][0]
        found = [table.get((name, task, probe, budget, metric)) for name in names]
        heights = [s.mean if s else 0.0 for s in found]
        errors = [(s.std or 0.0) if s else 0.0 for s in found]
        colors = [f"C{index}" for index in range(len(names))]
        axis.bar(names, heights, yerr=errors, color=colors, capsize=3)
        for index, summary in enumerate(found):
            key = (names[index], task, probe, budget, metric)
            text = (
                f"{summary.mean:.1f}"
                if summary
                else ("missing" if key in table else "n/a")
            )
            axis.text(index, heights[index], text, ha="center", va="bottom", fontsize=8)
        axis.set_title(f"{task} / {probe}, {budget:g} min\n{metric} (%)", fontsize=9)
        axis.tick_params(axis="x", labelsize=7, labelrotation=30)
        axis.margins(y=0.15)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    pyplot.close(figure)


def plot_efficiency(study: Study, baseline_mib: float | None, path: Path) -> None:
    """Step time along the run (every seed), and peak memory (mean +- std)."""
    figure, (time_axis, memory_axis) = pyplot.subplots(
        1, 2, figsize=(11, 4), gridspec_kw={"width_ratios": [2, 1]}
    )
    names, peaks, spreads = [], [], []
    for index, upstream in enumerate(study.pretrained):
        for number, seed in enumerate(study.seeds):
            folder = study.pretrain_folder(upstream, seed)
            points = smoothed(step_times(folder))
            if points:
                steps, seconds = zip(*points, strict=True)
                label = upstream.name if number == 0 else None
                time_axis.plot(steps, seconds, color=f"C{index}", alpha=0.7,
                               linewidth=1, label=label)  # fmt: skip
        costs = [cost_numbers(study.pretrain_folder(upstream, s)) for s in study.seeds]
        summary = summarise([c["peak_mib"] for c in costs if c])
        names.append(upstream.name)
        peaks.append(summary.mean if summary else 0.0)
        spreads.append((summary.std or 0.0) if summary else 0.0)
    time_axis.set(
        xlabel="optimizer step", ylabel="wall time of a step (s), moving mean"
    )
    time_axis.set_ylim(bottom=0)
    time_axis.grid(alpha=0.3)
    if time_axis.lines:
        time_axis.legend()
    base = baseline_mib or 0.0
    colors = [f"C{index}" for index in range(len(names))]
    memory_axis.bar(names, [base] * len(names), color="lightgrey",
                    label="interpreter + libraries")  # fmt: skip
    memory_axis.bar(names, [max(p - base, 0.0) for p in peaks], bottom=base,
                    yerr=spreads, color=colors, capsize=3,
                    label="model, data, training")  # fmt: skip
    for index, peak in enumerate(peaks):
        memory_axis.text(index, peak, f"{peak:.0f}", ha="center", va="bottom")
    memory_axis.set(ylabel="peak RSS of the process (MiB)")
    memory_axis.legend(fontsize=8, loc="lower center")
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    pyplot.close(figure)
