"""Setting up and checking data-parallel runs.

:func:`init_process_group` is SpeechBrain's ``ddp_init_group`` with the
timeout as a setting (SpeechBrain fixes it at two hours, which is how long a
job whose peer died can sit in a collective) and with one clear message when
the group cannot form, e.g. torchrun's default static rendezvous after a
restart, which often cannot re-form a gloo group in this torch (of 11
restarts on 2 CPU cores, 8 failed to connect within 15-20 s, 2 resumed and
finished, 1 hung in gloo's connection past the timeout: hence the watchdog;
with ``--standalone`` or ``--rdzv_backend c10d`` the restarted group
resumes from the last checkpoint and finishes bit-identical to an
uninterrupted run, tested). :func:`exit_on_lost_peer` does the same for the
processes that survive a dead peer.

A DDP run whose replicas silently diverge (a rank that skipped a step, a
parameter outside the reducer) wastes every GPU-hour after the divergence.
:func:`replica_divergence` is cheap (two all-reduces of one vector) and runs
at the end of training, and whenever a user calls it. :func:`unwrap` gives
the module inside a DDP wrapper (every Brain and recipe uses this one).
"""

from __future__ import annotations

import contextlib
import datetime
import logging
import os
import sys
import threading
from collections.abc import Iterator

import torch
from speechbrain.utils.distributed import get_local_rank, get_rank

logger = logging.getLogger(__name__)

WATCHDOG_GRACE_S = 5.0


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
    # gloo's mesh connection does not always honour the timeout (seen: a
    # restarted worker waiting on its peers for minutes past it), so a
    # watchdog ends the process with the message if the library does not.
    watchdog = threading.Timer(
        timeout_s + WATCHDOG_GRACE_S, _give_up_joining, args=(rank, backend, timeout_s)
    )
    watchdog.daemon = True
    watchdog.start()
    try:
        torch.distributed.init_process_group(
            backend=backend,
            rank=rank,
            timeout=datetime.timedelta(seconds=timeout_s),
        )
    except (RuntimeError, ValueError) as error:
        cause = f": {str(error).splitlines()[0]}"
        raise ProcessGroupError(_join_failure(rank, backend, cause)) from error
    finally:
        watchdog.cancel()
    return True


def _give_up_joining(rank: int, backend: str, timeout_s: float) -> None:
    """End the process (from the watchdog thread) with the joining message."""
    message = _join_failure(rank, backend, f" within {timeout_s:g} s (ddp_timeout_s)")
    logger.error(message)
    print(f"error: {message}", file=sys.stderr, flush=True)
    os._exit(1)  # the main thread is blocked inside the library


def _join_failure(rank: int, backend: str, cause: str) -> str:
    """Say that a process could not join its group, and what to do now."""
    return (
        f"rank {rank} could not join the {backend} process group{cause}. "
        + resume_advice()
    )


def resume_advice() -> str:
    """Tell the user what to do after a lost or unformed group: hint, resume.

    Example
    -------
    >>> resume_advice()
    'The last checkpoint is kept: the same command resumes from it.'
    """
    resume = "The last checkpoint is kept: the same command resumes from it."
    return restart_hint() + resume


def restart_hint() -> str:
    """Say how to launch torchrun when a restarted group fails (else nothing).

    Empty in a first start; see the module docstring for why it is needed.

    Example
    -------
    >>> restart_hint()
    ''
    """
    restart = int(os.environ.get("TORCHELASTIC_RESTART_COUNT", "0"))
    if not restart:
        return ""
    return (
        f"This is restart {restart} of the job: torchrun's default (static) "
        "rendezvous often cannot re-form the group; launch with torchrun "
        "--standalone (one node) or --rdzv_backend c10d (several nodes) to let "
        "restarts resume (even then a restart can fail when a worker is slow to "
        "start on a loaded machine). "
    )


def is_lost_peer(error: BaseException) -> bool:
    """Whether an error says another process of the group died or vanished.

    torch raises ``DistError`` subclasses for most of these (NCCL, stores,
    timeouts) and a plain ``RuntimeError`` from gloo's TCP transport.

    Example
    -------
    >>> is_lost_peer(RuntimeError("[gloo/transport/tcp/pair.cc:545] Read error"))
    True
    >>> is_lost_peer(RuntimeError("size mismatch for weight"))
    False
    """
    if isinstance(error, torch.distributed.DistError):
        return True
    return isinstance(error, RuntimeError) and "gloo/transport" in str(error)


@contextlib.contextmanager
def exit_on_lost_peer() -> Iterator[None]:
    """Turn a lost peer into one ``error: ...`` line (stderr and log) and exit 1.

    When one process of a data-parallel job dies, the others fail inside their
    next collective with a long traceback from the communication library; what
    their user needs is which rank stopped, that the cause is another process,
    and that the last checkpoint resumes. Other errors keep their traceback.

    Example
    -------
    >>> try:
    ...     with exit_on_lost_peer():
    ...         raise torch.distributed.DistNetworkError("connection closed")
    ... except SystemExit as stop:
    ...     stop.code
    1
    """
    try:
        yield
    except RuntimeError as error:
        if not is_lost_peer(error):
            raise
        message = (
            f"rank {get_rank() or 0} lost contact with the other processes of the "
            f"job (one of them stopped, or the network failed): "
            f"{str(error).splitlines()[0][:300]}. {resume_advice()}"
        )
        logger.error(message)
        print(f"error: {message}", file=sys.stderr)
        sys.exit(1)


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


def unwrap(module: torch.nn.Module) -> torch.nn.Module:
    """Return the module inside a DDP wrapper (or the module itself).

    Example
    -------
    >>> layer = torch.nn.Linear(2, 2)
    >>> unwrap(layer) is layer
    True
    """
    return getattr(module, "module", module)


def world_size() -> int:
    """Return the number of processes of the run (1 without a process group).

    Example
    -------
    >>> world_size()
    1
    """
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_world_size()
    return 1


def close_process_group() -> None:
    """Leave the process group together at the end of a run, then destroy it.

    Without this, a rank that finishes first exits with the group's
    communication threads still running, and the C++ runtime may abort it
    (``terminate called without an active exception``, exit code -6) after
    all its work is done, failing the whole ``torchrun`` job. The barrier
    also keeps every rank alive until the main process has written its
    results. Nothing happens without a process group.

    Example
    -------
    >>> close_process_group()  # no process group: nothing to do
    """
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        torch.distributed.barrier()
        torch.distributed.destroy_process_group()
