"""The report of ``reproduce.py``: markdown tables and three PNG figures.

Everything is read back from disk (the recipe's logs, ``reproduce.json`` of each
pre-training, the probes' results), so a re-run rewrites the same report.
"""

from __future__ import annotations

import csv
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from _pretrain_logs import (
    PretrainLog,
    clean_step_seconds,
    read_pretrain_log,
)
from _reproduce_plots import (
    metric_text,
    plot_curves,
    plot_downstream,
    plot_efficiency,
)
from _timing import fmt

REFERENCE = "MHSA"
TAIL_FRACTION = 0.1


@dataclass
class ModelRun:
    """One model: its pre-training folder, measurements and probe results.

    ``probes`` maps (task, probe) to a ``ProbeResult`` or to the error message
    of a failed probe; None when probing was skipped.
    """

    name: str
    folder: Path
    record: dict[str, Any]
    probes: dict[tuple[str, str], Any] | None
    log: PretrainLog = field(init=False)

    def __post_init__(self) -> None:
        self.log = read_pretrain_log(self.folder)


@dataclass
class Setup:
    """How the runs were made: the lines of the report's setup section."""

    command: str
    overrides: dict[str, Any]
    size: str
    baseline_mib: float
    probe_overrides: dict[str, dict[str, Any]]
    machine: dict[str, Any]
    stage_seconds: dict[str, float]


def tail_mean(log: PretrainLog, name: str) -> float | None:
    """Mean of ``name`` over the last 10% of the logged steps (at least one).

    Example
    -------
    >>> from _pretrain_logs import StepRecord
    >>> log = PretrainLog([StepRecord(s, s, {"loss": 20.0 - s}, True)
    ...                    for s in range(1, 21)])
    >>> tail_mean(log, "loss")
    0.5
    """
    values = [r.values[name] for r in log.steps if name in r.values]
    if not values:
        return None
    tail = values[-max(1, round(len(values) * TAIL_FRACTION)) :]
    return sum(tail) / len(tail)


def efficiency(run: ModelRun, baseline_mib: float) -> dict[str, float | None]:
    """Step time (median of clean steps; mean over everything) and peak memory."""
    seconds = [value for _, value in clean_step_seconds(run.log.steps)]
    first, last = (run.log.steps[0], run.log.steps[-1]) if run.log.steps else (0, 0)
    span = last.step - first.step if run.log.steps else 0
    peak = run.record["peak_rss_mib"]
    return {
        "median_s": statistics.median(seconds) if seconds else None,
        "mean_all_s": (last.time - first.time) / span if span else None,
        "clean_steps": len(seconds),
        "wall_min": run.record["wall_seconds"] / 60,
        "cpu_min": run.record["cpu_seconds"] / 60,
        "peak_mib": peak,
        "above_mib": peak - baseline_mib,
    }


def ratio(value: float | None, reference: float | None) -> float | None:
    """``value / reference``, None when either is missing.

    Example
    -------
    >>> ratio(3.0, 4.0), ratio(None, 4.0)
    (0.75, None)
    """
    return None if value is None or not reference else value / reference


def pretraining_table(runs: list[ModelRun]) -> str:
    """Markdown table of sizes and final statistics of the pre-trainings."""
    lines = [
        "| model | parameters (M) | steps | loss (last 10%) | accuracy (last 10%) "
        "| valid loss | valid accuracy |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for run in runs:
        valid = run.log.validation[-1][1] if run.log.validation else {}
        steps = run.log.steps[-1].step if run.log.steps else 0
        cells = [
            run.name, fmt(run.log.parameters_m, ".2f"), str(steps),
            fmt(tail_mean(run.log, "loss"), ".3f"),
            fmt(tail_mean(run.log, "accuracy"), ".3f"),
            fmt(valid.get("loss"), ".3f"), fmt(valid.get("accuracy"), ".3f"),
        ]  # fmt: skip
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def efficiency_table(runs: list[ModelRun], baseline_mib: float) -> str:
    """Markdown table of step time and peak memory, with ratios to MHSA."""
    rows = {run.name: efficiency(run, baseline_mib) for run in runs}
    reference = rows.get(REFERENCE, {})
    lines = [
        "| model | step, median (s) | vs MHSA | step, all included (s) | wall (min) "
        "| CPU (min) | vs MHSA | peak RSS (MiB) | vs MHSA | above libraries (MiB) "
        "| vs MHSA |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, row in rows.items():
        cells = [
            name, fmt(row["median_s"], ".3f"),
            fmt(ratio(row["median_s"], reference.get("median_s")), ".2f"),
            fmt(row["mean_all_s"], ".3f"), fmt(row["wall_min"], ".1f"),
            fmt(row["cpu_min"], ".1f"),
            fmt(ratio(row["cpu_min"], reference.get("cpu_min")), ".2f"),
            fmt(row["peak_mib"], ".0f"),
            fmt(ratio(row["peak_mib"], reference.get("peak_mib")), ".2f"),
            fmt(row["above_mib"], ".0f"),
            fmt(ratio(row["above_mib"], reference.get("above_mib")), ".2f"),
        ]  # fmt: skip
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def downstream_rows(runs: list[ModelRun]) -> list[dict[str, Any]]:
    """One row per task, probe and metric, with every model's value (or error)."""
    keys = dict.fromkeys(key for run in runs for key in (run.probes or {}))
    rows = []
    for task, probe in keys:
        outcomes = {run.name: (run.probes or {}).get((task, probe)) for run in runs}
        metrics = dict.fromkeys(
            metric
            for outcome in outcomes.values()
            if hasattr(outcome, "metrics")
            for metric in outcome.metrics
        )
        for metric in metrics or ["-"]:
            row = {"task": task, "probe": probe, "metric": metric}
            for name, outcome in outcomes.items():
                row[name] = (
                    outcome.metrics.get(metric)
                    if hasattr(outcome, "metrics")
                    else f"failed: {outcome}"
                    if outcome
                    else None
                )
            rows.append(row)
    return rows


def downstream_table(runs: list[ModelRun], rows: list[dict[str, Any]]) -> str:
    """Markdown table of the probes' metrics, the models side by side."""
    names = [run.name for run in runs]
    lines = [
        "| task | probe | metric | " + " | ".join(names) + " |",
        "|---|---|---|" + "---:|" * len(names),
    ]
    for row in rows:
        values = [
            row[name]
            if isinstance(row[name], str)
            else "-"
            if row[name] is None
            else metric_text(row[name])
            for name in names
        ]
        lines.append(f"| {row['task']} | {row['probe']} | {row['metric']} | ")
        lines[-1] += " | ".join(values) + " |"
    return "\n".join(lines)


def duration(seconds: float) -> str:
    """Seconds below a minute, else minutes.

    Example
    -------
    >>> duration(42.4), duration(150.0)
    ('42 s', '2.5 min')
    """
    return f"{seconds:.0f} s" if seconds < 60 else f"{seconds / 60:.1f} min"


def setup_section(runs: list[ModelRun], setup: Setup) -> str:
    """Markdown lines: command, hardware, configuration, time spent per stage."""
    machine = setup.machine
    memory = fmt(machine["memory_gib"], ".0f")
    load = "/".join(
        f"{a:.1f}" for a in (machine["load_start"][0], machine["load_end"][0])
    )
    overrides = ", ".join(f"`{k}: {v}`" for k, v in setup.overrides.items())
    probes = "; ".join(
        f"{task}: " + (", ".join(f"`{k}: {v}`" for k, v in keys.items()) or "defaults")
        for task, keys in setup.probe_overrides.items()
    )
    stages = ", ".join(f"{k} {duration(v)}" for k, v in setup.stage_seconds.items())
    total = sum(setup.stage_seconds.values()) / 60
    return "\n".join([
        f"- Command: `{setup.command}`",
        f"- Machine: {machine['cpu']}, {machine['logical_cores']} logical cores "
        f"({machine['usable_cores']} usable), {memory} GiB"
        + (f", GPU {machine['cuda']}" if machine["cuda"] else "")
        + f"; 1-minute load average {load} at start/end (other processes on the "
        "machine slow both models down)",
        f"- Software: torch {machine['torch']} (threads in every stage: "
        f"{machine['torch_threads']}),"
        f" SpeechBrain {machine['speechbrain']}, Python {machine['python']}",
        f"- Pre-training: `recipes/pretrain.py` with {', '.join(r.name for r in runs)}"
        f" (`hparams/w2v2_summarymixing.yaml`, `hparams/w2v2_mhsa.yaml`) and the same"
        f" keys for both: the demo's (`hparams/demo.yaml`), with the step limit of "
        f"`--steps` and every step logged: {overrides}",
        f"- Data: synthetic Libri-Light ({setup.size}, VAD-cut into 10-30 s pieces) "
        f"to pre-train, synthetic LibriSpeech dev-clean to validate; probes on the "
        f"synthetic LibriSpeech and VoxCeleb1 ({setup.size}); probe overrides: "
        f"{probes}",
        f"- Wall time: {total:.1f} min ({stages})",
    ])  # fmt: skip


def write_report(out: Path, runs: list[ModelRun], setup: Setup) -> Path:
    """Write ``report.md``, ``downstream.csv`` and the figures; return the report."""
    rows = downstream_rows(runs)
    plot_curves(runs, out / "curves.png")
    plot_efficiency(runs, setup.baseline_mib, out / "efficiency.png")
    sections = [
        "# SummaryMixing vs attention: a small-scale reproduction",
        "Both models pre-trained for the same steps on the same batches, then "
        "probed frozen. Synthetic speech and a small model: the comparison of "
        "cost is real, the downstream numbers show whether the encoders learned "
        "something, not how they would do on real speech.",
        "## Setup",
        setup_section(runs, setup),
        "## Pre-training",
        "Loss and contrastive accuracy of the training batches (mean over the "
        "last 10% of the steps) and of the last validation.",
        pretraining_table(runs),
        "![loss and accuracy](curves.png)",
        "## Cost",
        "Step: wall time between consecutive step lines of the recipe's log "
        "(data loading, forward, backward, optimizer), median over the steps "
        "without validation, checkpoint or new epoch in between; *all included*: "
        "the whole training time over the steps. Wall and CPU (user + system) "
        "time of the whole process, data preparation and export included: CPU "
        "time is the less sensitive to other load on the machine. Peak RSS: "
        "`ru_maxrss` of the pre-training process (`os.wait4`), its peak "
        "resident memory; *above libraries*: minus "
        f"{setup.baseline_mib:.0f} MiB, the peak of `recipes/pretrain.py "
        "--help`, which imports the same libraries.",
        efficiency_table(runs, setup.baseline_mib),
        "![step time and memory](efficiency.png)",
    ]
    if rows:
        plot_downstream(runs, rows, out / "downstream.png")
        with (out / "downstream.csv").open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
        sections += [
            "## Downstream (MP3S probes on the frozen encoders)",
            "WER, CER, EER and minDCF: lower is better.",
            downstream_table(runs, rows),
            "![downstream metrics](downstream.png)",
        ]
    report = out / "report.md"
    report.write_text("\n\n".join(sections) + "\n")
    return report
