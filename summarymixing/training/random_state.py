"""Random-number-generator state as a checkpoint recoverable.

SpeechBrain's ``Checkpointer`` saves modules, optimisers, schedulers, the scaler
and the data-loader position but not the RNG streams, so a resumed run draws
different masks, distractors, dropout and layer-drop decisions than the run it
continues. This recoverable closes that gap.
"""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import torch
from speechbrain.utils.checkpoints import (
    mark_as_loader,
    mark_as_saver,
    register_checkpoint_hooks,
)


@register_checkpoint_hooks
class RandomState:
    """Save and restore the Python, NumPy, torch (and CUDA) RNG states.

    Checkpoints are written by the main process, so they hold rank 0's streams;
    other ranks restore them and then offset by their rank, so that resumed
    ranks stay distinct and deterministic.

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
        """Write the current RNG states to ``path``."""
        state = {
            "python": random.getstate(),
            "numpy": np.random.get_state(),
            "torch": torch.get_rng_state(),
        }
        if torch.cuda.is_available():
            state["cuda"] = torch.cuda.get_rng_state_all()
        torch.save(state, path)

    @mark_as_loader
    def load(self, path: str | Path, end_of_epoch: bool = False) -> None:
        """Restore the RNG states saved at ``path`` (our own file: full unpickle)."""
        del end_of_epoch
        state = torch.load(path, weights_only=False)
        random.setstate(state["python"])
        np.random.set_state(state["numpy"])
        torch.set_rng_state(state["torch"])
        if "cuda" in state and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state["cuda"])
        if self.rank:
            offset = int(torch.randint(0, 2**31 - 1, (1,))) + self.rank
            random.seed(offset)
            np.random.seed(offset % 2**32)
            torch.manual_seed(offset)
