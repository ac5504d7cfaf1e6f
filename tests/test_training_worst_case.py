"""The heaviest batches are found and tried without changing the run."""

from __future__ import annotations

import pytest
import torch
from speechbrain.dataio.dataset import DynamicItemDataset

from summarymixing.data.pipeline import make_dynamic_batch_sampler
from summarymixing.training.worst_case import (
    heaviest_batches,
    padded_seconds,
    try_batches,
)


def sampler_for(durations, budget=10.0, buckets=3, seed=1):
    data = {f"u{i}": {"duration": d} for i, d in enumerate(durations)}
    return make_dynamic_batch_sampler(
        DynamicItemDataset(data), budget, buckets, seed=seed
    )


DURATIONS = [1.0, 1.2, 1.1, 0.9, 2.5, 2.6, 2.4, 4.0, 4.5, 9.5, 3.0, 1.3]


def test_heaviest_batches_are_the_most_padded_and_the_longest():
    sampler = sampler_for(DURATIONS)
    batches = [list(b) for b in sampler_for(DURATIONS)]
    padded = [padded_seconds([DURATIONS[i] for i in b]) for b in batches]
    found = heaviest_batches(sampler)
    assert padded_seconds([DURATIONS[i] for i in found[0]]) == max(padded)
    assert 9 in found[-1]  # the 9.5 s item
    assert len(found) in (1, 2)


def test_finding_them_leaves_the_sampler_order_unchanged():
    sampler, twin = sampler_for(DURATIONS), sampler_for(DURATIONS)
    heaviest_batches(sampler)
    assert [list(b) for b in sampler] == [list(b) for b in twin]


def test_trying_batches_changes_no_gradient_buffer_or_random_stream():
    model = torch.nn.Sequential(torch.nn.Linear(3, 3), torch.nn.BatchNorm1d(3))
    running_mean = model[1].running_mean.clone()
    batches = [("a", torch.randn(4, 3)), ("b", torch.randn(5, 3))]
    torch.manual_seed(0)
    expected = torch.rand(2)
    torch.manual_seed(0)

    def step(batch):
        model(batch + torch.rand_like(batch)).sum().backward()

    try_batches(step, model, batches)
    assert all(p.grad is None for p in model.parameters())
    assert torch.equal(model[1].running_mean, running_mean)
    assert torch.equal(torch.rand(2), expected)


def test_out_of_memory_names_the_batch_and_the_fix():
    model = torch.nn.Linear(2, 2)

    def step(batch):
        raise torch.OutOfMemoryError("CUDA out of memory")

    with pytest.raises(
        RuntimeError, match=r"heaviest training batch \(3 items.*--max_batch_length"
    ):
        try_batches(step, model, [("3 items, longest 9.0 s", torch.ones(1))])
