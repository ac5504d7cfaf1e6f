"""A SpeechBrain ``Checkpointer`` whose checkpoints appear atomically.

SpeechBrain writes a checkpoint's meta file (``CKPT.yaml``, the marker that makes
a folder count as a checkpoint) *before* the parameter files. A run killed while
saving therefore leaves a folder that looks complete, and the next start
recovers from truncated files. Here the meta file is written under a temporary
name and renamed into place (``os.replace``, atomic on POSIX) only after every
parameter file is on disk, so a checkpoint either exists whole or not at all.

Before a run resumes, :meth:`AtomicCheckpointer.check_matches` compares the
shapes in the newest checkpoint with the model just built, so that a folder
holding another model's checkpoints is one message naming the folder and the
fix, not dozens of ``size mismatch`` lines after the folder's
``hyperparams.yaml`` was already overwritten.
"""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

import torch
from speechbrain.utils.checkpoints import METAFNAME, Checkpoint, Checkpointer
from speechbrain.utils.distributed import ddp_barrier, if_main_process

logger = logging.getLogger(__name__)

PENDING_SUFFIX = ".pending"


class AtomicCheckpointer(Checkpointer):
    """``speechbrain.utils.checkpoints.Checkpointer`` with atomic checkpoints.

    Takes the same arguments. Unfinished checkpoint folders left by a killed
    run (no ``CKPT.yaml``) are removed when the checkpointer is created.

    Example
    -------
    >>> import tempfile, torch
    >>> folder = Path(tempfile.mkdtemp())
    >>> model = torch.nn.Linear(2, 2)
    >>> checkpointer = AtomicCheckpointer(folder, recoverables={"model": model})
    >>> checkpoint = checkpointer.save_checkpoint()
    >>> sorted(path.name for path in checkpoint.path.iterdir())
    ['CKPT.yaml', 'model.ckpt']
    """

    def __init__(self, checkpoints_dir: str | Path, *args, **kwargs) -> None:
        super().__init__(checkpoints_dir, *args, **kwargs)
        self.removed_unfinished: list[Path] = []
        if if_main_process():
            self._remove_unfinished()

    def check_matches(self) -> None:
        """Raise a ValueError if the newest checkpoint holds another model.

        Every ``torch.nn.Module`` recoverable is compared, tensor by tensor,
        with its file in the newest checkpoint (names and shapes; values are
        what resuming is for). No checkpoint: nothing to check.

        Example
        -------
        >>> import tempfile
        >>> folder = Path(tempfile.mkdtemp())
        >>> small = AtomicCheckpointer(folder, {"model": torch.nn.Linear(2, 2)})
        >>> _ = small.save_checkpoint()
        >>> AtomicCheckpointer(folder, {"model": torch.nn.Linear(2, 3)}).check_matches()
        Traceback (most recent call last):
        ...
        ValueError: ... holds checkpoints of another model: model.weight is [2, 2] there, [3, 2] here; model.bias is [2] there, [3] here. ...
        """  # noqa: E501
        checkpoint = self.find_checkpoint()
        if checkpoint is None:
            return
        differences = []
        for name, module in self.recoverables.items():
            path = checkpoint.paramfiles.get(name)
            if not isinstance(module, torch.nn.Module) or path is None:
                continue
            saved = torch.load(path, map_location="cpu", weights_only=True)
            differences += _shape_differences(name, saved, module.state_dict())
        if differences:
            shown = "; ".join(differences[:3])
            more = f" (and {len(differences) - 3} more)" if len(differences) > 3 else ""
            raise ValueError(
                f"{self.checkpoints_dir} holds checkpoints of another model: "
                f"{shown}{more}. Pass a new --output_folder for this model, or "
                "delete that folder to start over."
            )

    def _remove_unfinished(self) -> None:
        """Delete checkpoint folders whose meta file was never published."""
        for path in Path(self.checkpoints_dir).glob("CKPT+*"):
            if path.is_dir() and not (path / METAFNAME).exists():
                logger.warning("removing unfinished checkpoint %s", path)
                shutil.rmtree(path)
                self.removed_unfinished.append(path)

    def log_removed(self) -> None:
        """Log again the unfinished checkpoints removed at creation.

        The checkpointer is created while the YAML loads, before the recipe
        opens its ``log.txt``; a recipe calls this once the log is open, so
        that the file, not only the console, says a save was interrupted.
        """
        for path in self.removed_unfinished:
            logger.warning("removed unfinished checkpoint %s (a save was cut)", path)

    def _save_checkpoint_metafile(self, fpath, meta_to_include=None, end_of_epoch=True):
        """Write the meta file under a temporary name; published after saving."""
        pending = Path(str(fpath) + PENDING_SUFFIX)
        return super()._save_checkpoint_metafile(
            pending, meta_to_include or {}, end_of_epoch
        )

    def save_checkpoint(self, *args, **kwargs) -> Checkpoint | None:
        """Save every recoverable, then publish the meta file atomically."""
        checkpoint = super().save_checkpoint(*args, **kwargs)
        if checkpoint is not None:
            meta = checkpoint.path / METAFNAME
            os.replace(str(meta) + PENDING_SUFFIX, meta)
        # Every rank must see the published checkpoint before listing
        # checkpoints again (SpeechBrain's deletion runs one collective per
        # deleted checkpoint, so ranks that list different sets deadlock).
        ddp_barrier()
        return checkpoint


def _shape_differences(name: str, saved: dict, current: dict) -> list[str]:
    """Describe the tensors whose name or shape differ between two state dicts."""

    def shape(tensor) -> str:
        return str(list(tensor.shape))

    differences = [
        f"{name}.{key} is {shape(saved[key])} there, {shape(value)} here"
        for key, value in current.items()
        if key in saved and saved[key].shape != value.shape
    ]
    differences += [f"{name}.{key} is not there" for key in current if key not in saved]
    differences += [f"{name}.{key} is not here" for key in saved if key not in current]
    return differences
