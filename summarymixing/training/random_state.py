"""Random-number-generator state of every process as a checkpoint recoverable.

SpeechBrain's ``Checkpointer`` saves modules, optimisers, schedulers, the scaler
and the data-loader position but not the RNG streams, so a resumed run draws
different masks, distractors, dropout and layer-drop decisions than the run it
continues. This recoverable closes that gap, for every rank of a distributed
run: its saver runs on all processes (``save_on_main_only=False``), gathers the
states of all ranks and lets the main process write them in one file; on
resume each rank takes its own back.
"""

from __future__ import annotations

import functools
import logging
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from speechbrain.utils.checkpoints import (
    mark_as_loader,
    mark_as_saver,
    register_checkpoint_hooks,
)

logger = logging.getLogger(__name__)


def current_state() -> dict[str, Any]:
    """Return the Python, NumPy, torch (and CUDA) RNG states of this process.

    Example
    -------
    >>> sorted(current_state())[:3]
    ['numpy', 'python', 'torch']
    """
    state = {
        "python": random.getstate(),
        "numpy": np.random.get_state(),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_state(state: dict[str, Any]) -> None:
    """Set this process's RNG states to ``state`` (from :func:`current_state`).

    Example
    -------
    >>> saved = current_state()
    >>> first = torch.rand(2)
    >>> restore_state(saved)
    >>> torch.equal(torch.rand(2), first)
    True
    """
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _distributed() -> bool:
    return dist.is_available() and dist.is_initialized()


@functools.partial(register_checkpoint_hooks, save_on_main_only=False)
class RandomState:
    """Save and restore the RNG streams of every process of the run.

    Parameters
    ----------
    rank : int
        This process's rank (0 without distributed training).

    A checkpoint written by a run with a different number of processes has no
    stream for some ranks: those restore rank 0's and then offset it by their
    rank (distinct and deterministic, but not the streams they had), with a
    warning. Checkpoints of earlier versions, which held rank 0's streams only,
    load the same way.

    Example
    -------
    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "rng.ckpt"
    >>> state = RandomState()
    >>> _ = torch.manual_seed(0)
    >>> state.save(path)
    >>> first = torch.rand(3)
    >>> state.load(path)
    >>> torch.equal(torch.rand(3), first)
    True
    """

    def __init__(self, rank: int = 0) -> None:
        self.rank = rank

    @mark_as_saver
    def save(self, path: str | Path) -> None:
        """Gather every rank's RNG states; the main process writes them to ``path``.

        Runs on all processes (a collective under distributed training).
        """
        states = [current_state()]
        if _distributed():
            states = [None] * dist.get_world_size()
            dist.all_gather_object(states, current_state())
        if not _distributed() or dist.get_rank() == 0:
            torch.save({"ranks": states}, path)

    @mark_as_loader
    def load(self, path: str | Path, end_of_epoch: bool = False) -> None:
        """Restore this rank's RNG states from ``path`` (our file: full unpickle)."""
        del end_of_epoch
        saved = torch.load(path, weights_only=False)
        ranks = saved["ranks"] if "ranks" in saved else [saved]
        if self.rank < len(ranks):
            restore_state(ranks[self.rank])
            return
        logger.warning(
            "%s holds RNG streams for %d process(es), not for rank %d: it "
            "continues from rank 0's stream offset by its rank (the world size "
            "changed since the checkpoint was written)",
            path,
            len(ranks),
            self.rank,
        )
        restore_state(ranks[0])
        offset = int(torch.randint(0, 2**31 - 1, (1,))) + self.rank
        random.seed(offset)
        np.random.seed(offset % 2**32)
        torch.manual_seed(offset)
