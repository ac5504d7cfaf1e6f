"""Periodic training log: loss terms, SSL statistics, lr, grad norm, throughput.

Every line also goes, as one JSON object, to an optional ``steps.jsonl`` file
(``kind`` ``step``; the Brain adds ``valid``, ``monitor`` and ``model``
records), so that tools read numbers, not log text, and to an optional
experiment tracker (:mod:`.trackers`: TensorBoard or W&B), ``step`` records as
split ``train``.

Each ``step`` record also carries its clock: ``time`` (seconds since the
epoch, when it was written), ``seconds_per_step`` (the wall time since the
previous step record, per optimizer step) and ``clean``: False when that
interval also held something else this log knows of (another record: a
validation, a monitor reading; or the start of this process, whose first
interval holds the set-up). Checkpoint saves between two step records are not
known here; they are rare (every ``ckpt_interval_minutes``), so the median
step time the benchmarks take from clean records does not feel them.
"""

from __future__ import annotations

import json
import logging
import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

import torch

from summarymixing.atomic_files import write_text_atomically
from summarymixing.training.trackers import Tracker

logger = logging.getLogger(__name__)

NOT_TRACKED = ("time", "clean")
"""Keys of the step records the tracker does not plot (the clock, a flag)."""

LOGGED_TERMS = (
    "loss",
    "contrastive",
    "diversity",
    "accuracy",
    "perplexity",
    "codes_used",
    "temperature",
    "masked_ratio",
)


class StepLog:
    """Average per-batch statistics and print them every ``interval`` steps.

    Parameters
    ----------
    interval : int
        Optimizer steps between two log lines.
    world_size : int
        Number of processes, to report the throughput of the whole job.
    jsonl_path : str or Path, optional
        Where the records go as JSON lines.
    tracker : TensorBoardTracker or WandBTracker, optional
        Receives every record too.

    Example
    -------
    >>> log = StepLog(interval=2)
    >>> log.add_batch({"loss": torch.tensor(4.0)}, audio_seconds=10.0)
    >>> log.add_batch({"loss": torch.tensor(2.0)}, audio_seconds=10.0)
    >>> line = log.maybe_emit(optimizer_step=2, lr=1e-3, grad_norm=0.5)
    >>> line.startswith("step 2 | loss 3.000")
    True
    """

    def __init__(
        self,
        interval: int = 50,
        world_size: int = 1,
        jsonl_path: str | Path | None = None,
        tracker: Tracker | None = None,
    ) -> None:
        self.interval = max(1, interval)
        self.world_size = world_size
        self.jsonl_path = None if jsonl_path is None else Path(jsonl_path)
        self.tracker = tracker
        self.origin: tuple[float, int] | None = None  # (time, step), first line
        self.history: list[tuple[int, dict[str, float]]] = []
        self.last_step: int | None = None  # of the last step record
        self.clean = False  # the first interval of a process holds its set-up
        self._reset()

    def _reset(self) -> None:
        self.sums: dict[str, float] = defaultdict(float)
        self.batches = 0
        self.audio_seconds = 0.0
        self.started = time.perf_counter()

    def add_batch(self, stats: dict[str, torch.Tensor], audio_seconds: float) -> None:
        """Accumulate one batch's statistics and the seconds of audio it held."""
        for name in LOGGED_TERMS:
            if name in stats:
                self.sums[name] += float(stats[name].detach().float())
        self.batches += 1
        self.audio_seconds += audio_seconds

    def maybe_emit(
        self,
        optimizer_step: int,
        lr: float,
        grad_norm: float | None,
        step_limit: int | None = None,
    ) -> str | None:
        """Log and return a line when ``optimizer_step`` is a multiple of interval.

        With ``step_limit``, the line ends with the estimated time left (``eta``),
        from the mean step time since the first line of this process.
        """
        if optimizer_step % self.interval or not self.batches:
            return None
        now = time.perf_counter()
        elapsed = max(now - self.started, 1e-9)
        terms = " | ".join(
            f"{name} {self.sums[name] / self.batches:.3f}"
            for name in LOGGED_TERMS
            if name in self.sums
        )
        norm = "n/a" if grad_norm is None else f"{grad_norm:.3g}"
        speed = self.audio_seconds * self.world_size / elapsed
        line = (
            f"step {optimizer_step} | {terms} | lr {lr:.3g} | grad_norm {norm} | "
            f"audio s/s {speed:.1f}"
        )
        if step_limit:
            if self.origin is None or optimizer_step <= self.origin[1]:
                per_step = elapsed / self.interval
            else:
                per_step = (now - self.origin[0]) / (optimizer_step - self.origin[1])
            left = max(step_limit - optimizer_step, 0) * per_step
            line += f" | eta {format_duration(left)}"
            if self.origin is None:
                self.origin = (now, optimizer_step)
        logger.info(line)
        averages = {name: value / self.batches for name, value in self.sums.items()}
        self.history.append((optimizer_step, averages))
        steps = (
            self.interval
            if self.last_step is None or optimizer_step <= self.last_step
            else optimizer_step - self.last_step
        )
        extra = {
            "lr": lr,
            "grad_norm": grad_norm,
            "audio_per_second": speed,
            "time": time.time(),
            "seconds_per_step": elapsed / steps,
            "clean": self.clean,
        }
        self.record("step", optimizer_step, **averages, **extra)
        self.last_step, self.clean = optimizer_step, True
        self._reset()
        return line

    def record(self, kind: str, optimizer_step: int, **values: float | None) -> None:
        """Append one JSON line ``{"kind", "step", **values}`` to ``jsonl_path``.

        The tracker, if any, gets the same values (split ``train`` for kind
        ``step``, the kind otherwise) at ``optimizer_step``.

        Example
        -------
        >>> import tempfile
        >>> path = Path(tempfile.mkdtemp()) / "steps.jsonl"
        >>> StepLog(jsonl_path=path).record("monitor", 100, monitor_cer=55.0)
        >>> path.read_text().splitlines()
        ['{"kind": "monitor", "step": 100, "monitor_cer": 55.0}']
        """
        if kind != "step":
            self.clean = False  # the interval to the next step record holds it
        if self.tracker is not None:
            split = "train" if kind == "step" else kind
            shown = {k: v for k, v in values.items() if k not in NOT_TRACKED}
            self.tracker.log(split, optimizer_step, shown)
        if self.jsonl_path is None:
            return
        with self.jsonl_path.open("a", encoding="utf-8") as stream:
            entry = {"kind": kind, "step": optimizer_step, **values}
            stream.write(json.dumps(entry) + "\n")

    def close(self) -> None:
        """Close the tracker (flush TensorBoard, finish the W&B run)."""
        if self.tracker is not None:
            self.tracker.close()

    def discard_after(self, optimizer_step: int) -> int:
        """Drop the ``steps.jsonl`` lines of steps after ``optimizer_step``.

        Called once a run has resumed from the checkpoint of ``optimizer_step``
        (0 for a fresh start): a killed run may have logged steps past its
        last checkpoint, which the resumed run logs again, so without this the
        file would hold those steps twice, with different numbers. A fresh
        start empties the file. The file is rewritten atomically.

        Returns
        -------
        int
            The number of lines dropped.

        Example
        -------
        >>> import tempfile
        >>> path = Path(tempfile.mkdtemp()) / "steps.jsonl"
        >>> log = StepLog(jsonl_path=path)
        >>> for step in (100, 200, 300):
        ...     log.record("step", step, loss=1.0)
        >>> log.discard_after(200)
        1
        >>> [json.loads(line)["step"] for line in path.read_text().splitlines()]
        [100, 200]
        """
        if self.jsonl_path is None or not self.jsonl_path.exists():
            return 0
        lines = self.jsonl_path.read_text(encoding="utf-8").splitlines()
        kept = (
            []
            if optimizer_step == 0
            else [line for line in lines if _logged_step(line) <= optimizer_step]
        )
        if len(kept) == len(lines):
            return 0
        write_text_atomically(self.jsonl_path, "".join(line + "\n" for line in kept))
        return len(lines) - len(kept)

    def trend(self, name: str) -> str | None:
        """Describe how ``name`` moved between the first and the last log line.

        Example
        -------
        >>> log = StepLog(interval=1)
        >>> for step, value in enumerate([0.1, 0.2, 0.4], start=1):
        ...     log.add_batch({"accuracy": torch.tensor(value)}, audio_seconds=1.0)
        ...     _ = log.maybe_emit(step, lr=1.0, grad_norm=None)
        >>> log.trend("accuracy")
        'accuracy 0.100 at step 1 -> 0.400 at step 3'
        """
        points = [
            (step, values[name]) for step, values in self.history if name in values
        ]
        if len(points) < 2:
            return None
        (first_step, first), (last_step, last) = points[0], points[-1]
        return (
            f"{name} {first:.3f} at step {first_step} -> {last:.3f} at step {last_step}"
        )


def read_steps(folder: Path) -> dict[str, list[dict]]:
    """Read ``steps.jsonl``: kind (step, valid, monitor) -> records by step.

    A resumed run logs some steps again: a record drops every earlier record
    of its kind at the same or a later step. A half-written last line (a run
    still going) is left out.

    Example
    -------
    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "steps.jsonl"
    >>> lines = [{"kind": "step", "step": s, "loss": float(s)} for s in (1, 2, 3, 2)]
    >>> _ = path.write_text("".join(json.dumps(x) + chr(10) for x in lines) + "{")
    >>> [(r["step"], r["loss"]) for r in read_steps(path.parent)["step"]]
    [(1, 1.0), (2, 2.0)]
    """
    path = folder / "steps.jsonl"
    kinds: dict[str, list[dict]] = defaultdict(list)
    if not path.is_file():
        return kinds
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        records = kinds[record["kind"]]
        while records and records[-1]["step"] >= record["step"]:
            records.pop()
        records.append(record)
    return kinds


def curve(records: Sequence[dict], name: str) -> list[tuple[int, float]]:
    """(step, value) of every record holding a number under ``name``.

    Example
    -------
    >>> curve([{"step": 1, "loss": 2.0}, {"step": 2, "loss": None}], "loss")
    [(1, 2.0)]
    """
    return [
        (r["step"], float(r[name]))
        for r in records
        if isinstance(r.get(name), int | float) and not isinstance(r[name], bool)
    ]


def format_duration(seconds: float) -> str:
    """Write a duration the way people read it.

    Example
    -------
    >>> format_duration(45.2), format_duration(750), format_duration(3725)
    ('45s', '12m30s', '1h02m')
    """
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


def effective_batch_hours(
    max_batch_seconds: float, world_size: int, grad_accumulation: int
) -> float:
    """Hours of audio per optimizer update: batch seconds x GPUs x accumulation.

    Example
    -------
    >>> round(effective_batch_hours(360, 4, 4), 2)  # the paper: 1.6 h per update
    1.6
    """
    return max_batch_seconds * world_size * grad_accumulation / 3600.0


def _logged_step(line: str) -> float:
    """Read the step of one ``steps.jsonl`` line (a torn line: after all)."""
    try:
        return float(json.loads(line)["step"])
    except (ValueError, KeyError, TypeError):
        return float("inf")
