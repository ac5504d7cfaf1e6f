"""Experiment tracking: the step log's numbers as TensorBoard or W&B scalars.

One YAML key switches it, ``experiment_tracker``: ``none`` (the default),
``tensorboard`` (event files in ``<output_folder>/tensorboard``) or ``wandb``
(a run of project ``wandb_project``, files in ``<output_folder>/wandb``).
Pre-training sends every record of its step log (loss terms, accuracy,
perplexity, codes used, temperature, lr, grad norm, audio seconds per second,
the validation and quality-monitor readings), the probes their per-epoch
train, validation and test statistics.

Both trackers are built on SpeechBrain's loggers (``TensorboardLogger``,
``WandBLogger``: optional imports, main process only). What differs is the
x-axis: SpeechBrain's ``TensorboardLogger.log_stats`` numbers the values it is
given 1, 2, 3, ... per call and starts again at 1 when a run resumes, which
would draw a resumed 300k-step run over its own beginning; here every value is
written at the optimizer step (or epoch) it belongs to, through the logger's
``SummaryWriter`` and the W&B run's ``log(..., step=)`` (as
``WandBLogger.log_stats`` does with ``epoch``, for any split: it knows only
train, valid and test). Tags follow SpeechBrain's ``<name>/<split>``
convention; W&B nests them as ``<split>.<name>``.
"""

from __future__ import annotations

import importlib.util
import math
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

TRACKERS = ("none", "tensorboard", "wandb")


def scalars(values: Mapping[str, Any]) -> dict[str, float]:
    """Return the finite numbers of ``values``; a list becomes ``name_0``, ...

    Example
    -------
    >>> scalars({"loss": 2.5, "lr": None, "weights": [0.25, 0.75], "name": "x"})
    {'loss': 2.5, 'weights_0': 0.25, 'weights_1': 0.75}
    >>> scalars({"grad_norm": float("inf"), "step_ok": True})
    {'step_ok': 1.0}
    """
    out: dict[str, float] = {}
    for name, value in values.items():
        if isinstance(value, (list, tuple)):
            out.update(scalars({f"{name}_{i}": item for i, item in enumerate(value)}))
        elif isinstance(value, (int, float)) and math.isfinite(value):
            out[name] = float(value)
        elif hasattr(value, "item") and getattr(value, "ndim", 1) == 0:
            out.update(scalars({name: value.item()}))
    return out


class TensorBoardTracker:
    """Scalars at their own step in ``folder``, through SpeechBrain's logger.

    Example
    -------
    >>> import tempfile
    >>> tracker = TensorBoardTracker(tempfile.mkdtemp())
    >>> tracker.log("train", 100, {"loss": 3.2, "lr": 1e-4})
    >>> tracker.close()
    """

    def __init__(self, folder: str | Path) -> None:
        try:
            from speechbrain.utils.train_logger import TensorboardLogger

            self.logger = TensorboardLogger(str(folder))
        except ImportError as error:
            raise ImportError(
                "experiment_tracker: tensorboard needs the tensorboard package: "
                "pip install tensorboard"
            ) from error

    def log(self, split: str, step: int, values: Mapping[str, Any]) -> None:
        """Write every finite number of ``values`` as ``<name>/<split>`` at ``step``."""
        writer = self.logger.writer
        if writer is None:  # not the main process
            return
        for name, value in scalars(values).items():
            writer.add_scalar(f"{name}/{split}", value, step)
        writer.flush()  # readable while the run goes on, at every log line

    def close(self) -> None:
        """Flush and close the event file."""
        if self.logger.writer is not None:
            self.logger.writer.close()


class WandBTracker:
    """Scalars at their own step in a Weights & Biases run.

    Parameters
    ----------
    folder : str or Path
        The run's local files (W&B's ``dir``).
    project : str
        W&B project.
    run_name : str, optional
        Display name and id of the run, so that a resumed job continues it
        (``resume="allow"``).
    initializer : callable, optional
        ``wandb.init`` by default; anything with its signature that returns
        an object with ``log(dict, step=int)`` and ``finish()``.

    Example
    -------
    >>> class Run:
    ...     def log(self, values, step=None):
    ...         print(step, values)
    ...     def finish(self):
    ...         pass
    >>> tracker = WandBTracker("out", "demo", "run1", initializer=lambda **kw: Run())
    >>> tracker.log("valid", 200, {"loss": 2.0})
    200 {'valid': {'loss': 2.0}, 'epoch': 200}
    """

    def __init__(
        self,
        folder: str | Path,
        project: str,
        run_name: str | None = None,
        initializer: Callable[..., Any] | None = None,
    ) -> None:
        from speechbrain.utils.train_logger import WandBLogger

        if initializer is None:
            try:
                import wandb
            except ImportError as error:
                raise ImportError(
                    "experiment_tracker: wandb needs the wandb package: "
                    "pip install wandb"
                ) from error
            initializer = wandb.init
            Path(folder).mkdir(parents=True, exist_ok=True)
        self.logger = WandBLogger(
            initializer,
            project=project,
            dir=str(folder),
            name=run_name,
            id=run_name,
            resume="allow",
        )

    def log(self, split: str, step: int, values: Mapping[str, Any]) -> None:
        """Log every finite number of ``values`` under ``split`` at ``step``."""
        if self.logger.run is None:  # not the main process
            return
        # what WandBLogger.log_stats does, for any split name (it knows only
        # train, valid and test; the monitor and test-clean are splits too)
        self.logger.run.log({split: scalars(values), "epoch": step}, step=step)

    def close(self) -> None:
        """Finish the run."""
        if self.logger.run is not None:
            self.logger.run.finish()


Tracker = TensorBoardTracker | WandBTracker


def check_tracker_name(name: str | None) -> str:
    """Return the tracker name (``none`` for ``None``) once it can be used.

    Raises
    ------
    ValueError
        An unknown name, or a tracker whose package is not installed (the
        message gives the install command), before any work starts.

    Example
    -------
    >>> check_tracker_name(None), check_tracker_name("tensorboard")
    ('none', 'tensorboard')
    >>> check_tracker_name("tensorbaord")
    Traceback (most recent call last):
    ...
    ValueError: experiment_tracker 'tensorbaord' is not one of none, tensorboard, wandb
    """
    name = "none" if name is None else str(name)
    if name not in TRACKERS:
        raise ValueError(
            f"experiment_tracker {name!r} is not one of {', '.join(TRACKERS)}"
        )
    if name != "none" and importlib.util.find_spec(name) is None:
        raise ValueError(
            f"experiment_tracker {name} needs the {name} package: pip install {name}"
        )
    return name


def make_tracker(hparams: Mapping[str, Any]) -> Tracker | None:
    """Build the tracker the hyper-parameters ask for, or None.

    Reads ``experiment_tracker``, ``output_folder`` and, for W&B,
    ``wandb_project``; the run is named after the output folder.

    Example
    -------
    >>> import tempfile
    >>> make_tracker({"experiment_tracker": "none"}) is None
    True
    >>> tracker = make_tracker({"experiment_tracker": "tensorboard",
    ...                         "output_folder": tempfile.mkdtemp()})
    >>> type(tracker).__name__
    'TensorBoardTracker'
    """
    name = check_tracker_name(hparams.get("experiment_tracker"))
    if name == "none":
        return None
    output = Path(hparams["output_folder"])
    if name == "tensorboard":
        return TensorBoardTracker(output / "tensorboard")
    run_name = "-".join(output.resolve().parts[-2:])
    project = hparams.get("wandb_project") or "summarymixing"
    return WandBTracker(output / "wandb", project, run_name)
