"""Setting up and checking data-parallel runs.

:func:`init_process_group` is SpeechBrain's ``ddp_init_group`` with the
timeout as a setting (SpeechBrain fixes it at two hours, which is how long a
job whose peer died can sit in a collective) and with one clear message when
the group cannot form, e.g. torchrun's default static rendezvous after a
restart, which cannot re-form a gloo group in this torch (measured: the
restarted workers fail to connect within seconds; with ``--standalone`` or
``--rdzv_backend c10d`` the restarted group resumes from the last checkpoint
and finishes bit-identical to an uninterrupted run, tested).

A DDP run whose replicas silently diverge (a rank that skipped a step, a
parameter outside the reducer) wastes every GPU-hour after the divergence.
:func:`replica_divergence` is cheap (two all-reduces of one vector) and runs
at the end of training, and whenever a user calls it.
"""

from __future__ import annotations

import datetime
import os

import torch
from speechbrain.utils.distributed import get_local_rank, get_rank


class ProcessGroupError(RuntimeError):
    """The processes of a data-parallel job could not form their group."""


def init_process_group(backend: str, timeout_s: float) -> bool:
    """Join the job's process group when launched by torchrun (or similar).

    Parameters
    ----------
    backend : str
        ``nccl`` (one GPU per process, ``LOCAL_RANK``) or ``gloo`` (CPU).
    timeout_s : float
        How long forming the group, a barrier or a collective may wait for
        the other processes before the job fails (instead of hanging).

    Returns
    -------
    bool
        False when not launched for several processes (nothing to do).

    Example
    -------
    >>> init_process_group("gloo", timeout_s=60)  # a plain single process
    False
    """
    rank, local_rank = get_rank(), get_local_rank()
    if rank is None or local_rank is None or torch.distributed.is_initialized():
        return False
    if backend == "nccl":
        if local_rank >= torch.cuda.device_count():
            raise ProcessGroupError(
                f"local rank {local_rank} but {torch.cuda.device_count()} GPUs: "
                "start at most one process per GPU, or use --distributed_backend "
                "gloo on CPU"
            )
        torch.cuda.set_device(local_rank)
    try:
        torch.distributed.init_process_group(
            backend=backend,
            rank=rank,
            timeout=datetime.timedelta(seconds=timeout_s),
        )
    except (RuntimeError, ValueError) as error:
        restart = int(os.environ.get("TORCHELASTIC_RESTART_COUNT", "0"))
        hint = (
            f"This is restart {restart} of the job: torchrun's default (static) "
            "rendezvous cannot re-form the group; launch with torchrun "
            "--standalone (one node) or --rdzv_backend c10d (several nodes) to "
            "let restarts resume (even then a restart can fail when a worker is "
            "slow to start on a loaded machine). "
            if restart
            else ""
        )
        raise ProcessGroupError(
            f"rank {rank} could not join the {backend} process group: "
            f"{str(error).splitlines()[0]}. {hint}The last checkpoint is kept: "
            "the same command resumes from it."
        ) from error
    return True


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
