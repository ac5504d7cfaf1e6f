"""Helpers shared by the benchmark scripts: clocks, resident memory, formatting.

Resident memory is read from Linux's ``/proc``: the current resident set size
from ``/proc/self/statm`` and its high-water mark (``VmHWM``) from
``/proc/self/status``. Writing ``5`` to ``/proc/self/clear_refs`` (Linux 4.0+)
resets that high-water mark to the current resident size, so that the peak of
one step can be read without the peaks of what came before it.
"""

from __future__ import annotations

import resource
import sys
from pathlib import Path

import torch

STATM = Path("/proc/self/statm")
STATUS = Path("/proc/self/status")
CLEAR_REFS = Path("/proc/self/clear_refs")


def synchronize(device: str) -> None:
    """Wait for queued CUDA work, so that a clock read after it is meaningful.

    Parameters
    ----------
    device : str
        ``"cpu"`` (nothing to wait for) or ``"cuda"``.

    Example
    -------
    >>> synchronize("cpu")
    """
    if device == "cuda":
        torch.cuda.synchronize()


def resident_mib() -> float:
    """Return the resident memory of this process (MiB), from /proc/self/statm.

    Example
    -------
    >>> resident_mib() > 0
    True
    """
    if not STATM.is_file():
        raise FileNotFoundError(
            f"{STATM} does not exist: CPU memory is measured from Linux's /proc; "
            "on this platform pass --no-memory"
        )
    pages = int(STATM.read_text().split()[1])
    return pages * resource.getpagesize() / 2**20


def reset_peak_resident() -> bool:
    """Reset this process's peak resident memory to its current resident memory.

    Returns
    -------
    bool
        False where the kernel does not allow it: the peak then stays the
        peak since the process started.

    Example
    -------
    >>> buffer = bytearray(64 * 2**20)
    >>> del buffer
    >>> reset_peak_resident() and peak_resident_mib() < resident_mib() + 32
    True
    """
    try:
        CLEAR_REFS.write_text("5")
    except OSError:
        return False
    return True


def peak_resident_mib() -> float:
    """Return the peak resident memory of this process (MiB).

    ``VmHWM`` of ``/proc/self/status`` where it exists, else ``ru_maxrss``
    (kibibytes on Linux, bytes on macOS).

    Example
    -------
    >>> peak_resident_mib() >= resident_mib() - 1
    True
    """
    if STATUS.is_file():
        for line in STATUS.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return maxrss / 2**20 if sys.platform == "darwin" else maxrss / 1024


def rotation(start: int, count: int) -> list[int]:
    """Return ``range(count)`` started at ``start % count``: a round-robin order.

    Timing configurations alternately, with the first one rotating at every
    repeat, spreads machine noise (and any "second run is warmer" effect) evenly.

    Example
    -------
    >>> rotation(1, 3), rotation(4, 3)
    ([1, 2, 0], [1, 2, 0])
    """
    start %= count
    return list(range(start, count)) + list(range(start))


def fmt(value: float | None, spec: str) -> str:
    """Format ``value`` with ``spec``, or ``"-"`` when it is None.

    Example
    -------
    >>> fmt(0.123, ".2f"), fmt(None, ".2f")
    ('0.12', '-')
    """
    return "-" if value is None else format(value, spec)
