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
``read_steps`` keeps the later records.
"""

from __future__ import annotations

from pathlib import Path

from summarymixing.training.step_log import read_steps


def clean_step_seconds(folder: Path) -> list[tuple[int, float]]:
    """Return (step, seconds) of every clean step record in ``folder``.

    Example
    -------
    >>> import json, tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> records = [{"kind": "step", "step": s, "seconds_per_step": t, "clean": c}
    ...            for s, t, c in ((1, 9.0, False), (2, 1.5, True), (3, 1.0, True))]
    >>> _ = (folder / "steps.jsonl").write_text(
    ...     "".join(json.dumps(r) + chr(10) for r in records))
    >>> clean_step_seconds(folder)
    [(2, 1.5), (3, 1.0)]
    """
    return [
        (record["step"], record["seconds_per_step"])
        for record in read_steps(folder)["step"]
        if record.get("clean") and "seconds_per_step" in record
    ]


def wall_seconds_per_step(folder: Path) -> float | None:
    """Mean wall time per step between the first and the last step record.

    Everything counts (validation, checkpoints, a restart's downtime).

    Example
    -------
    >>> import json, tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> records = [{"kind": "step", "step": s, "time": 100.0 + 2 * s} for s in (1, 5)]
    >>> _ = (folder / "steps.jsonl").write_text(
    ...     "".join(json.dumps(r) + chr(10) for r in records))
    >>> wall_seconds_per_step(folder)
    2.0
    """
    steps = [r for r in read_steps(folder)["step"] if "time" in r]
    if len(steps) < 2 or steps[-1]["step"] <= steps[0]["step"]:
        return None
    return (steps[-1]["time"] - steps[0]["time"]) / (
        steps[-1]["step"] - steps[0]["step"]
    )


def parameters_millions(folder: Path) -> float | None:
    """Return the model's number of parameters (millions) from its ``model`` record.

    Example
    -------
    >>> import json, tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> record = {"kind": "model", "step": 0, "parameters": 2_200_000}
    >>> _ = (folder / "steps.jsonl").write_text(json.dumps(record) + chr(10))
    >>> parameters_millions(folder)
    2.2
    """
    models = read_steps(folder)["model"]
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
