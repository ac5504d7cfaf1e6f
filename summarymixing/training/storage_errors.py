"""Disk errors a user can cause, as one line instead of a traceback.

A full disk, a quota, a read-only or otherwise unwritable output folder, or an
output path that runs through a file end a run with an ``OSError`` from deep
inside a checkpoint save or a log write. The checkpoints are published
atomically (:mod:`.checkpointer`), so the last complete one survives; what the
user needs is the path, the reason, what to do (for a full disk: how much
space a checkpoint takes and how much is free) and the fact that the same
command resumes. Other ``OSError`` kinds are bugs or data problems and keep
their traceback.
"""

from __future__ import annotations

import contextlib
import errno
import math
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})
UNWRITABLE_ERRNOS = frozenset({errno.EROFS, errno.EACCES, errno.EPERM})
STORAGE_ERRNOS = FULL_ERRNOS | UNWRITABLE_ERRNOS | {errno.ENOTDIR}
MB = 1 << 20


def describe_storage_error(error: OSError, output_folder: str) -> str | None:
    """Return the one-line message for a storage error, or None for others.

    Example
    -------
    >>> unwritable = OSError(errno.EROFS, "Read-only file system", "/r/log.txt")
    >>> print(describe_storage_error(unwritable, "/r"))
    cannot write /r/log.txt: Read-only file system. Make that location writable or pass another --output_folder than /r; the last complete checkpoint is kept and the same command resumes from it.
    >>> describe_storage_error(FileNotFoundError(2, "gone", "/x"), "/r") is None
    True
    """  # noqa: E501
    if error.errno not in STORAGE_ERRNOS:
        return None
    where = error.filename or output_folder
    if error.errno in FULL_ERRNOS:
        advice = f"{_space_needed(output_folder, where)}, or pass another"
    elif error.errno in UNWRITABLE_ERRNOS:
        advice = "Make that location writable or pass another"
    else:
        advice = "A file stands where a folder is needed: remove it or pass another"
    return (
        f"cannot write {where}: {error.strerror}. {advice} --output_folder than "
        f"{output_folder}; the last complete checkpoint is kept and the same "
        "command resumes from it."
    )


def _space_needed(output_folder: str, where: str) -> str:
    """Say how much a checkpoint takes and how much is free where it failed.

    Example
    -------
    >>> import tempfile
    >>> _space_needed(tempfile.mkdtemp(), "/")
    'Free space there (... MB free now on /)'
    """
    checkpoints = sorted(
        (meta.parent for meta in Path(output_folder).glob("*/CKPT+*/CKPT.yaml")),
        key=lambda path: path.stat().st_mtime,
    )
    free_place = next(
        path for path in (Path(where), *Path(where).parents) if path.exists()
    )
    free_mb = shutil.disk_usage(free_place).free / MB
    free = f"{free_mb:.0f} MB free now on {free_place}"
    if not checkpoints:
        return f"Free space there ({free})"
    size_mb = sum(f.stat().st_size for f in checkpoints[-1].iterdir()) / MB
    return (
        f"Free at least {math.ceil(size_mb)} MB there (the size of the last complete "
        f"checkpoint: a new one is written before the oldest is removed; {free})"
    )


@contextlib.contextmanager
def exit_on_storage_error(output_folder: str) -> Iterator[None]:
    """Turn a storage ``OSError`` into ``error: ...`` on stderr and exit 1.

    Example
    -------
    >>> try:
    ...     with exit_on_storage_error("/r"):
    ...         raise OSError(errno.EROFS, "Read-only file system", "/r/log.txt")
    ... except SystemExit as stop:
    ...     stop.code
    1
    """
    try:
        yield
    except OSError as error:
        message = describe_storage_error(error, output_folder)
        if message is None:
            raise
        print(f"error: {message}", file=sys.stderr)
        sys.exit(1)
