"""A SpeechBrain ``Checkpointer`` whose checkpoints appear atomically.

SpeechBrain writes a checkpoint's meta file (``CKPT.yaml``, the marker that makes
a folder count as a checkpoint) *before* the parameter files. A run killed while
saving therefore leaves a folder that looks complete, and the next start
recovers from truncated files. Here the meta file is written under a temporary
name and renamed into place (``os.replace``, atomic on POSIX) only after every
parameter file is on disk, so a checkpoint either exists whole or not at all.
"""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

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
        if if_main_process():
            self._remove_unfinished()

    def _remove_unfinished(self) -> None:
        """Delete checkpoint folders whose meta file was never published."""
        for path in Path(self.checkpoints_dir).glob("CKPT+*"):
            if path.is_dir() and not (path / METAFNAME).exists():
                logger.warning("removing unfinished checkpoint %s", path)
                shutil.rmtree(path)

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
