"""Try the heaviest training batches before the first step, to fail early.

A 300k-step run that runs out of memory on its largest batch should say so at
start-up, not hours in when that batch first comes round. Before the first
optimizer step the pre-training ``Brain`` runs forward and backward on two
batches of the epoch's batching: the one with the most padded audio (batch
size x longest item: activation memory) and the one with the longest item
(attention's ``T x T`` scores). Nothing of the run changes: no optimizer step
is taken, gradients are cleared, and buffers and RNG streams are put back.

SpeechBrain has no such check; its ``DynamicBatchSampler`` bounds the audio per
batch without padding, so the heaviest batch is not the one a user would guess.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Sequence

import torch
from speechbrain.dataio.sampler import DynamicBatchSampler

from summarymixing.training.random_state import current_state, restore_state


def padded_seconds(durations: Sequence[float]) -> float:
    """Seconds of a batch once padded to its longest item.

    Example
    -------
    >>> padded_seconds([2.0, 5.0, 3.0])
    15.0
    """
    return len(durations) * max(durations)


def heaviest_batches(sampler: DynamicBatchSampler) -> list[list[int]]:
    """Return the batch with the most padded audio, then the one with the longest item.

    The two are one batch when they coincide. The batches of the sampler's
    current epoch are listed by iterating a shallow copy of it: iterating the
    sampler itself would reorder its next pass.

    Parameters
    ----------
    sampler : DynamicBatchSampler
        The training sampler (durations in seconds).

    Returns
    -------
    list of list of int
        Dataset indices of one or two batches.

    Example
    -------
    >>> from speechbrain.dataio.dataset import DynamicItemDataset
    >>> from summarymixing.data.pipeline import make_dynamic_batch_sampler
    >>> data = {f"u{i}": {"duration": d} for i, d in enumerate([1, 1, 1, 1, 7])}
    >>> sampler = make_dynamic_batch_sampler(DynamicItemDataset(data), 4.0, 2)
    >>> [sorted(batch) for batch in heaviest_batches(sampler)]
    [[4]]
    """
    batches = [list(batch) for batch in copy.copy(sampler)]
    if not batches:
        raise ValueError("the training sampler has no batch: is the dataset empty?")
    most_padded = max(batches, key=lambda b: padded_seconds(sampler.get_durations(b)))
    longest = max(batches, key=lambda b: max(sampler.get_durations(b)))
    return [most_padded] if longest == most_padded else [most_padded, longest]


def describe(batch: Sequence[int], sampler: DynamicBatchSampler) -> str:
    """One line about a batch: items, longest item, padded seconds.

    Example
    -------
    >>> from speechbrain.dataio.dataset import DynamicItemDataset
    >>> from summarymixing.data.pipeline import make_dynamic_batch_sampler
    >>> data = {f"u{i}": {"duration": 2.0} for i in range(4)}
    >>> sampler = make_dynamic_batch_sampler(DynamicItemDataset(data), 4.0, 1)
    >>> describe([0, 1], sampler)
    '2 items, longest 2.0 s, 4.0 s padded'
    """
    durations = sampler.get_durations(batch)
    items = "1 item" if len(durations) == 1 else f"{len(durations)} items"
    return (
        f"{items}, longest {max(durations):.1f} s, "
        f"{padded_seconds(durations):.1f} s padded"
    )


def reserve_optimizer_state(
    parameters: Iterable[torch.nn.Parameter], optimizer: torch.optim.Optimizer
) -> list[torch.Tensor]:
    """Allocate what Adam's moments will take at the first step, if not there yet.

    Adam and AdamW keep two tensors per parameter, created at the first step;
    a fresh run's check holds the same amount of memory so that the peak it
    reaches is the first step's. A resumed run already has them. Other
    optimizers get nothing reserved (their state is not guessed).

    Example
    -------
    >>> weight = torch.nn.Parameter(torch.zeros(3, 2))
    >>> optimizer = torch.optim.AdamW([weight])
    >>> [t.numel() for t in reserve_optimizer_state([weight], optimizer)]
    [6, 6]
    >>> reserve_optimizer_state([weight], torch.optim.SGD([weight]))
    []
    """
    if optimizer.state or not isinstance(
        optimizer, torch.optim.Adam | torch.optim.AdamW
    ):
        return []
    trainable = [p for p in parameters if p.requires_grad]
    return [torch.empty_like(p) for p in trainable for _ in range(2)]


def try_batches(
    run_step: Callable[[object], None],
    modules: torch.nn.Module,
    batches: Iterable[tuple[str, object]],
) -> None:
    """Run ``run_step`` (forward + backward) on each batch, then undo its effects.

    Parameters
    ----------
    run_step : callable
        Forward and backward of one batch, as a training step does them.
    modules : torch.nn.Module
        The trained modules: gradients are cleared and buffers restored.
    batches : iterable of (description, batch)
        The batches to try, with a description for the error message.

    Raises
    ------
    RuntimeError
        When a batch runs out of memory, naming the batch and the fix.

    Example
    -------
    >>> model = torch.nn.Linear(2, 1)
    >>> def step(batch):
    ...     model(batch).sum().backward()
    >>> try_batches(step, model, [("two items", torch.ones(2, 2))])
    >>> model.weight.grad is None
    True
    """
    buffers = {name: buffer.clone() for name, buffer in modules.named_buffers()}
    streams = current_state()
    try:
        for description, batch in batches:
            try:
                run_step(batch)
            except torch.OutOfMemoryError as error:
                raise RuntimeError(
                    f"the heaviest training batch ({description}) does not fit in "
                    "memory: lower --max_batch_length and raise "
                    "--grad_accumulation_factor to keep the effective batch, or "
                    "lower --max_utterance_seconds"
                ) from error
            finally:
                modules.zero_grad(set_to_none=True)
    finally:
        with torch.no_grad():
            for name, buffer in modules.named_buffers():
                buffer.copy_(buffers[name])
        restore_state(streams)
