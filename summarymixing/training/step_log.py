"""Periodic training log: loss terms, SSL statistics, lr, grad norm, throughput.

Every line also goes, as one JSON object, to an optional ``steps.jsonl`` file
(``kind`` ``step``; the Brain adds ``valid`` and ``monitor`` records), so
that tools read numbers, not log text.
"""

from __future__ import annotations

import json
import logging
import time
from collections import defaultdict
from pathlib import Path

import torch

logger = logging.getLogger(__name__)

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
    ) -> None:
        self.interval = max(1, interval)
        self.world_size = world_size
        self.jsonl_path = None if jsonl_path is None else Path(jsonl_path)
        self.history: list[tuple[int, dict[str, float]]] = []
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
        self, optimizer_step: int, lr: float, grad_norm: float | None
    ) -> str | None:
        """Log and return a line when ``optimizer_step`` is a multiple of interval."""
        if optimizer_step % self.interval or not self.batches:
            return None
        elapsed = max(time.perf_counter() - self.started, 1e-9)
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
        logger.info(line)
        averages = {name: value / self.batches for name, value in self.sums.items()}
        self.history.append((optimizer_step, averages))
        extra = {"lr": lr, "grad_norm": grad_norm, "audio_per_second": speed}
        self.record("step", optimizer_step, **averages, **extra)
        self._reset()
        return line

    def record(self, kind: str, optimizer_step: int, **values: float | None) -> None:
        """Append one JSON line ``{"kind", "step", **values}`` to ``jsonl_path``.

        Example
        -------
        >>> import tempfile
        >>> path = Path(tempfile.mkdtemp()) / "steps.jsonl"
        >>> StepLog(jsonl_path=path).record("monitor", 100, monitor_cer=55.0)
        >>> path.read_text().splitlines()
        ['{"kind": "monitor", "step": 100, "monitor_cer": 55.0}']
        """
        if self.jsonl_path is None:
            return
        with self.jsonl_path.open("a", encoding="utf-8") as stream:
            entry = {"kind": kind, "step": optimizer_step, **values}
            stream.write(json.dumps(entry) + "\n")

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
