"""Checks for data-parallel runs.

A DDP run whose replicas silently diverge (a rank that skipped a step, a
parameter outside the reducer) wastes every GPU-hour after the divergence. The
check here is cheap (two all-reduces of one vector) and runs at the end of
training, and whenever a user calls it.
"""

from __future__ import annotations

import torch


def replica_divergence(module: torch.nn.Module) -> float:
    """Largest absolute difference of any parameter across DDP ranks.

    Parameters
    ----------
    module : torch.nn.Module
        The (possibly DDP-wrapped) model; every rank must call this.

    Returns
    -------
    float
        0.0 when all replicas are identical (and when not distributed).

    Example
    -------
    >>> replica_divergence(torch.nn.Linear(3, 2))
    0.0
    """
    if not (torch.distributed.is_available() and torch.distributed.is_initialized()):
        return 0.0
    flat = torch.cat([p.detach().float().flatten() for p in module.parameters()])
    high, low = flat.clone(), flat.clone()
    torch.distributed.all_reduce(high, op=torch.distributed.ReduceOp.MAX)
    torch.distributed.all_reduce(low, op=torch.distributed.ReduceOp.MIN)
    return float((high - low).abs().max()) if flat.numel() else 0.0
