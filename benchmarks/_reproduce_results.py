"""The numbers of a study, read back from disk, and their mean and spread.

Everything comes from files written as JSON or CSV by the runs themselves:
the probes' ``result.json`` (:func:`collect_rows`), the pre-training's
``steps.jsonl`` (``summarymixing.training.step_log.read_steps``) and
``reproduce.json``. Missing runs (not finished, failed, or whose upstream
failed) become rows without a value, so that a report of a partial study
shows them as missing.

Spread over seeds is the sample standard deviation (``statistics.stdev``,
``n - 1`` in the denominator); with one seed there is none.
"""

from __future__ import annotations

import csv
import json
import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import astuple, dataclass, fields
from pathlib import Path

import numpy as np
from _pretrain_logs import (
    clean_step_seconds,
    parameters_millions,
    wall_seconds_per_step,
)
from _reproduce_study import Study, Upstream

from summarymixing.mp3s.benchmark.tables import format_value
from summarymixing.mp3s.run.tasks import read_result
from summarymixing.training.step_log import curve, read_steps

METRICS = {"librispeech": ("CER", "WER"), "voxceleb1": ("EER", "minDCF")}
"""The metrics reported per task, the primary one (of the verdicts) first."""
TAIL_FRACTION = 0.1
NEEDS_ENCODER = frozenset({"finetune_ctc", "finetune_ctc_scaled"})
"""Probes that train the encoder itself: FBANK has no row there."""


@dataclass(frozen=True)
class ResultRow:
    """One line of ``results.csv``; ``value`` None when there is none.

    ``status``: ``done``, ``failed`` (``failure.log`` in the run folder),
    ``missing`` (not run or not finished) or ``missing (no upstream)`` (its
    pre-training did not finish).
    """

    upstream: str
    task: str
    probe: str
    budget_minutes: float
    metric: str
    seed: int
    value: float | None
    status: str


def collect_rows(study: Study, probes: Sequence[tuple[str, str]]) -> list[ResultRow]:
    """Read every planned probe run of the study (finished or not)."""
    rows = []
    for budget in study.budgets:
        for task, probe in probes:
            for upstream in study.upstreams:
                if upstream.kind == "fbank" and probe in NEEDS_ENCODER:
                    continue
                for seed in study.seeds:
                    folder = study.run_folder(upstream, seed, budget, task, probe)
                    result = read_result(folder)
                    key = (upstream.name, task, probe, budget)
                    if result is None:
                        status = _status(study, upstream, seed, folder)
                        rows += [
                            ResultRow(*key, metric, seed, None, status)
                            for metric in METRICS[task]
                        ]
                        continue
                    rows += [
                        ResultRow(*key, m, seed, result.metrics.get(m), "done")
                        for m in METRICS[task]
                    ]
    return rows


def collect_layer_weights(
    study: Study, probes: Sequence[tuple[str, str]]
) -> dict[tuple[str, str, str, float], list[list[float]]]:
    """Read the layer weights each frozen probe learned, one list per seed.

    Returns
    -------
    dict
        (upstream, task, probe, budget) -> the finished seeds' softmax weights
        (``h0`` = the first layer's input, then each layer's output); probes
        that fine-tune the encoder and upstreams with one hidden state (FBANK)
        have none.
    """
    weights: dict[tuple[str, str, str, float], list[list[float]]] = {}
    for budget in study.budgets:
        for task, probe in probes:
            if probe in NEEDS_ENCODER:
                continue
            for upstream in study.upstreams:
                seeds = [
                    list(result.layer_weights)
                    for seed in study.seeds
                    if (
                        result := read_result(
                            study.run_folder(upstream, seed, budget, task, probe)
                        )
                    )
                    is not None
                    and len(result.layer_weights) > 1
                ]
                if seeds:
                    weights[(upstream.name, task, probe, budget)] = seeds
    return weights


def _status(study: Study, upstream: Upstream, seed: int, folder: Path) -> str:
    if (folder / "failure.log").is_file():
        return "failed"
    encoder = study.encoder_folder(upstream, seed) / "encoder.json"
    return "missing" if encoder.is_file() else "missing (no upstream)"


def write_rows(path: Path, rows: Iterable[object], columns: Sequence[str]) -> None:
    """Write dataclass rows as CSV (None as an empty cell)."""
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        for row in rows:
            writer.writerow(["" if v is None else v for v in astuple(row)])


RESULT_COLUMNS = [f.name for f in fields(ResultRow)]


@dataclass(frozen=True)
class Summary:
    """Mean, sample standard deviation (None for one value) and count.

    Example
    -------
    >>> summary = summarise([30.0, 32.0, 34.0])
    >>> summary, summary.text("CER")
    (Summary(mean=32.0, std=2.0, n=3), '32.00 ± 2.00 (3)')
    >>> summarise([7.0]).text("EER"), summarise([])
    ('7.00 (1)', None)
    """

    mean: float
    std: float | None
    n: int

    def text(self, metric: str) -> str:
        """``mean ± std (n)`` with the metric's decimals."""
        spread = "" if self.std is None else f" ± {format_value(metric, self.std)}"
        return f"{format_value(metric, self.mean)}{spread} ({self.n})"


def summarise(values: Sequence[float]) -> Summary | None:
    """Summarise values; None when there are none."""
    if not values:
        return None
    std = statistics.stdev(values) if len(values) > 1 else None
    return Summary(statistics.fmean(values), std, len(values))


SummaryKey = tuple[str, str, str, float, str]
"""upstream, task, probe, budget (minutes), metric."""


def summaries(rows: Iterable[ResultRow]) -> dict[SummaryKey, Summary | None]:
    """Summarise the values over seeds for every upstream, task, budget, metric.

    Example
    -------
    >>> rows = [ResultRow("sm", "voxceleb1", "xvector", 10.0, "EER", s, v, "done")
    ...         for s, v in ((1, 10.0), (2, 12.0), (3, None))]
    >>> summaries(rows)
    {('sm', 'voxceleb1', 'xvector', 10.0, 'EER'): Summary(mean=11.0, std=..., n=2)}
    """
    values: dict[SummaryKey, list[float]] = defaultdict(list)
    for row in rows:
        key = (row.upstream, row.task, row.probe, row.budget_minutes, row.metric)
        values.setdefault(key, [])
        if row.value is not None:
            values[key].append(row.value)
    return {key: summarise(found) for key, found in values.items()}


def write_summary(path: Path, table: dict[SummaryKey, Summary | None]) -> None:
    """Write ``summary.csv``: one row per key with mean, std and n."""
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["upstream", "task", "probe", "budget_minutes", "metric",
                         "mean", "std", "n"])  # fmt: skip
        for key, summary in table.items():
            if summary is None:
                writer.writerow([*key, "", "", 0])
                continue
            std = "" if summary.std is None else summary.std
            writer.writerow([*key, summary.mean, std, summary.n])


def tail_mean(points: Sequence[tuple[int, float]]) -> float | None:
    """Mean over the last 10% of the points (at least one).

    Example
    -------
    >>> tail_mean([(s, 20.0 - s) for s in range(1, 21)])
    0.5
    """
    if not points:
        return None
    tail = points[-max(1, round(len(points) * TAIL_FRACTION)) :]
    return statistics.fmean(value for _, value in tail)


def pretraining_numbers(folder: Path) -> dict[str, float | None]:
    """Return the final statistics of one pre-training, from ``steps.jsonl``."""
    kinds = read_steps(folder)
    steps, valid, monitor = kinds["step"], kinds["valid"], kinds["monitor"]
    cer = curve(monitor, "monitor_cer")
    eer = curve(monitor, "monitor_speaker_eer")
    return {
        "steps": float(steps[-1]["step"]) if steps else None,
        "loss": tail_mean(curve(steps, "loss")),
        "accuracy": tail_mean(curve(steps, "accuracy")),
        "valid_loss": curve(valid, "loss")[-1][1] if curve(valid, "loss") else None,
        "monitor_first": cer[0][1] if cer else None,
        "monitor_last": cer[-1][1] if len(cer) > 1 else None,
        "monitor_eer_first": eer[0][1] if eer else None,
        "monitor_eer_last": eer[-1][1] if len(eer) > 1 else None,
    }


def cost_numbers(folder: Path) -> dict[str, float | None] | None:
    """Return the cost of one pre-training (None when it did not finish).

    Step times and the model size come from ``steps.jsonl``
    (:mod:`_pretrain_logs`: the median of the clean step records, and the
    mean over the whole run), the rest from ``reproduce.json``
    (:func:`_pretrain_runs.pretrain`).
    """
    record = read_json(folder / "reproduce.json")
    if record is None:
        return None
    kinds = read_steps(folder)
    seconds = [value for _, value in clean_step_seconds(kinds)]
    return {
        "parameters_m": parameters_millions(kinds),
        "median_s": statistics.median(seconds) if seconds else None,
        "mean_all_s": wall_seconds_per_step(kinds),
        "wall_min": record["wall_seconds"] / 60,
        "cpu_min": record["cpu_seconds"] / 60,
        "peak_mib": record["peak_rss_mib"],
    }


def step_times(folder: Path) -> list[tuple[int, float]]:
    """Return (step, seconds) of the clean steps of a pre-training (``steps.jsonl``)."""
    return clean_step_seconds(read_steps(folder))


def mean_band(
    curves: Sequence[Sequence[tuple[int, float]]],
) -> tuple[list[int], np.ndarray, np.ndarray]:
    """Mean and spread over seeds of curves that may log different steps.

    Every curve is linearly interpolated at each step any of them logged
    within the range all of them cover; the spread is the sample standard
    deviation (zero for one curve).

    Example
    -------
    >>> steps, mean, std = mean_band([[(0, 1.0), (10, 3.0)], [(0, 3.0), (5, 3.0)]])
    >>> steps, mean.tolist(), std.round(3).tolist()
    ([0, 5], [2.0, 2.5], [1.414, 0.707])
    """
    curves = [curve for curve in curves if curve]
    if not curves:
        return [], np.zeros(0), np.zeros(0)
    low, high = max(c[0][0] for c in curves), min(c[-1][0] for c in curves)
    steps = sorted({s for c in curves for s, _ in c if low <= s <= high})
    values = np.array(
        [np.interp(steps, [s for s, _ in c], [v for _, v in c]) for c in curves]
    )
    spread = values.std(0, ddof=1) if len(curves) > 1 else np.zeros(len(steps))
    return steps, values.mean(0), spread


def read_json(path: Path) -> dict | None:
    """Return a JSON file's content, None when it does not exist."""
    return json.loads(path.read_text()) if path.is_file() else None
