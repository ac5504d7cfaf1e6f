"""Step times and model size from the text log of ``recipes/pretrain.py``.

Every number the recipe logs is also in ``<output_folder>/steps.jsonl``, which
is what the reports read (``summarymixing.training.step_log.read_steps``);
that file has no clock, so the wall time of each step is still read here, from
``log.txt``,
SpeechBrain's log, every line ``2026-01-31 12:00:00,123 - logger - LEVEL -
message``. Every ``log_interval`` optimizer steps the step logger
(``summarymixing.training.step_log``) adds ``step N | loss x | contrastive x |
... | lr x | grad_norm x | audio s/s x``; the model builder logs its size
(``Total Number of Parameters: 2.2M``).

With ``log_interval`` 1 the time between two consecutive step lines is the wall
time of one optimizer step (data loading, forward, backward, optimizer). A step
whose interval holds any other line (validation, checkpoint, a new epoch, a
restart) is not *clean*: its interval measured more than training, and
:func:`clean_step_seconds` leaves it out. A resumed run logs some steps twice;
the later lines win.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

LINE = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) - (\S+) - ([A-Z]+) - (.*)$")
STEP = re.compile(r"^step (\d+) \| (.*)$")
PARAMETERS = re.compile(r"Total Number of Parameters: ([\d.]+)([kKMG]?)")
UNITS = {
    "": 1e-6,
    "k": 1e-3,
    "K": 1e-3,
    "M": 1.0,
    "G": 1e3,
}  # SpeechBrain writes 810.9k


@dataclass
class StepRecord:
    """One step line: its step, its time (seconds since the epoch), its values.

    ``clean`` is True when no other log line came between the previous step
    line and this one.
    """

    step: int
    time: float
    values: dict[str, float]
    clean: bool


def parse_step_message(message: str) -> tuple[int, dict[str, float]] | None:
    """Return (step, values) of a step-logger message, None for other messages.

    Example
    -------
    >>> parse_step_message("step 3 | loss 2.500 | grad_norm n/a | audio s/s 9.5")
    (3, {'loss': 2.5, 'audio s/s': 9.5})
    >>> parse_step_message("Going into epoch 2") is None
    True
    """
    match = STEP.match(message)
    if match is None:
        return None
    values = {}
    for item in match.group(2).split(" | "):
        name, _, value = item.rpartition(" ")
        try:
            values[name] = float(value)
        except ValueError:
            continue
    return int(match.group(1)), values


def parse_log(lines: list[str]) -> tuple[list[StepRecord], float | None]:
    """Return the step records and the model size (millions) of a ``log.txt``.

    Lines without a timestamp (continuations of a multi-line message) count as
    part of the message before them.

    Example
    -------
    >>> lines = [
    ...     "2026-01-31 12:00:00,000 - b - INFO - * Total Number of Parameters: 2.2M",
    ...     "2026-01-31 12:00:01,000 - s - INFO - step 1 | loss 4.0",
    ...     "2026-01-31 12:00:02,500 - s - INFO - step 2 | loss 3.0",
    ...     "2026-01-31 12:00:03,000 - c - INFO - Saved a checkpoint",
    ...     "2026-01-31 12:00:05,000 - s - INFO - step 3 | loss 2.0",
    ... ]
    >>> records, size = parse_log(lines)
    >>> [(r.step, r.values["loss"], r.clean) for r in records], size
    ([(1, 4.0, False), (2, 3.0, True), (3, 2.0, False)], 2.2)
    >>> records[1].time - records[0].time
    1.5
    """
    records: list[StepRecord] = []
    parameters_m = None
    clean = False
    for line in lines:
        size = PARAMETERS.search(line)
        if size is not None:
            parameters_m = float(size.group(1)) * UNITS[size.group(2)]
        match = LINE.match(line)
        if match is None:
            continue
        parsed = parse_step_message(match.group(4))
        if parsed is None:
            clean = False
            continue
        step, values = parsed
        stamp = datetime.strptime(match.group(1), "%Y-%m-%d %H:%M:%S,%f").timestamp()
        while records and records[-1].step >= step:
            records.pop()
        clean = clean and bool(records) and records[-1].step == step - 1
        records.append(StepRecord(step, stamp, values, clean))
        clean = True
    return records, parameters_m


def clean_step_seconds(records: list[StepRecord]) -> list[tuple[int, float]]:
    """Return (step, seconds) of every clean step (see the module docstring).

    Example
    -------
    >>> records = [StepRecord(1, 0.0, {}, False), StepRecord(2, 1.5, {}, True),
    ...            StepRecord(3, 9.0, {}, False), StepRecord(4, 10.0, {}, True)]
    >>> clean_step_seconds(records)
    [(2, 1.5), (4, 1.0)]
    """
    return [
        (record.step, record.time - previous.time)
        for previous, record in zip(records, records[1:], strict=False)
        if record.clean
    ]


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
