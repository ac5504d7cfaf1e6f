"""DataLoader options for training and validation that keep resumes exact.

Creating a ``torch.utils.data.DataLoader`` iterator draws one number (the
workers' base seed) from its ``generator``, and from the **global** torch
generator when none is given. SpeechBrain restores the global generator from
a checkpoint (our ``RandomState`` recoverable) before it creates the epoch's
iterator, while the uninterrupted run created that iterator at the start of
the epoch, long before the checkpoint: a run resumed from a checkpoint taken
*inside* an epoch therefore drew every later mask and distractor from a
shifted stream (measured: 36 of 40 logged losses differed after a resume at
step 4 of a 6-step epoch; end-of-epoch resumes were exact). Giving each
loader its own generator leaves the global stream to the model, so resumes
are bit-exact wherever the checkpoint was taken. The loader's generator only
seeds worker processes, whose loading draws no random numbers here.
"""

from __future__ import annotations

from typing import Any

import torch

from summarymixing.data.bad_audio import SkipBadAudio


def loader_options(
    dataset,
    *,
    seed: int,
    batch_sampler=None,
    batch_size: int | None = None,
    num_workers: int = 0,
) -> dict[str, Any]:
    """Keyword arguments for SpeechBrain's ``make_dataloader`` (via ``Brain.fit``).

    Parameters
    ----------
    dataset : DynamicItemDataset
        The dataset the loader reads (bad files are skipped with
        :class:`~summarymixing.data.bad_audio.SkipBadAudio`).
    seed : int
        Seed of the loader's own generator.
    batch_sampler : Sampler, optional
        E.g. a ``DynamicBatchSampler``; otherwise ``batch_size`` items.
    batch_size : int, optional
        Items per batch when there is no ``batch_sampler``.
    num_workers : int
        Loader worker processes.

    Example
    -------
    >>> options = loader_options([], seed=3, batch_size=4)
    >>> sorted(options)
    ['batch_size', 'collate_fn', 'generator', 'num_workers']
    >>> state = torch.random.get_rng_state()
    >>> loader = torch.utils.data.DataLoader(range(8), **options)
    >>> _ = iter(loader)
    >>> torch.equal(state, torch.random.get_rng_state())  # global stream untouched
    True
    """
    options: dict[str, Any] = {
        "collate_fn": SkipBadAudio(dataset),
        "num_workers": num_workers,
        "generator": torch.Generator().manual_seed(seed),
    }
    if batch_sampler is not None:
        options["batch_sampler"] = batch_sampler
    else:
        options["batch_size"] = batch_size
    return options
