"""Step times and model size of a pre-training, from its ``steps.jsonl``.

``recipes/pretrain.py`` writes every step-log line as a JSON record
(:mod:`summarymixing.training.step_log`, read with
:func:`~summarymixing.training.step_log.read_steps`): each ``step`` record
has ``seconds_per_step`` (the wall time since the previous step record, per
optimizer step) and ``clean`` (False when that interval also held a
validation, a monitor reading or the start of the process), and a ``model``
record holds the number of parameters. With ``log_interval`` 1 a clean
record's ``seconds_per_step`` is the wall time of one optimizer step (data
loading, forward, backward, optimizer). A resumed run logs some steps twice;
``read_steps`` keeps the later records. The functions here take what it
returns, so that a report reads each ``steps.jsonl`` once.
"""

from __future__ import annotations

from collections.abc import Mapping

Records = Mapping[str, list[dict]]
"""What ``read_steps(folder)`` returns: kind -> records; read once per run."""


def clean_step_seconds(records: Records) -> list[tuple[int, float]]:
    """Return (step, seconds) of every clean step record.

    Example
    -------
    >>> steps = [{"kind": "step", "step": s, "seconds_per_step": t, "clean": c}
    ...          for s, t, c in ((1, 9.0, False), (2, 1.5, True), (3, 1.0, True))]
    >>> clean_step_seconds({"step": steps})
    [(2, 1.5), (3, 1.0)]
    """
    return [
        (record["step"], record["seconds_per_step"])
        for record in records.get("step", [])
        if record.get("clean") and "seconds_per_step" in record
    ]


def wall_seconds_per_step(records: Records) -> float | None:
    """Mean wall time per step between the first and the last step record.

    Everything counts (validation, checkpoints, a restart's downtime).

    Example
    -------
    >>> steps = [{"kind": "step", "step": s, "time": 100.0 + 2 * s} for s in (1, 5)]
    >>> wall_seconds_per_step({"step": steps})
    2.0
    """
    steps = [r for r in records.get("step", []) if "time" in r]
    if len(steps) < 2 or steps[-1]["step"] <= steps[0]["step"]:
        return None
    return (steps[-1]["time"] - steps[0]["time"]) / (
        steps[-1]["step"] - steps[0]["step"]
    )


def parameters_millions(records: Records) -> float | None:
    """Return the model's number of parameters (millions) from its ``model`` record.

    Example
    -------
    >>> parameters_millions({"model": [{"step": 0, "parameters": 2_200_000}]})
    2.2
    """
    models = records.get("model", [])
    return models[-1]["parameters"] / 1e6 if models else None


def moving_average(values: list[float], window: int) -> list[float]:
    """Return the mean of each value and up to ``window - 1`` values before it.

    Example
    -------
    >>> moving_average([1.0, 3.0, 5.0, 7.0], window=2)
    [1.0, 2.0, 4.0, 6.0]
    """
    window = max(1, window)
    averages, total = [], 0.0
    for index, value in enumerate(values):
        total += value
        if index >= window:
            total -= values[index - window]
        averages.append(total / min(index + 1, window))
    return averages
