"""Disk errors a user can cause, as one line instead of a traceback.

A full disk, a quota, a read-only or otherwise unwritable output folder, or an
output path that runs through a file end a run with an ``OSError`` from deep
inside a checkpoint save or a log write. The checkpoints are published
atomically (:mod:`.checkpointer`), so the last complete one survives; what the
user needs is the path, the reason and the fact that the same command
resumes. Other ``OSError`` kinds are bugs or data problems and keep their
traceback.
"""

from __future__ import annotations

import contextlib
import errno
import sys
from collections.abc import Iterator

STORAGE_ERRNOS = frozenset(
    {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.ENOTDIR}
)


def describe_storage_error(error: OSError, output_folder: str) -> str | None:
    """Return the one-line message for a storage error, or None for others.

    Example
    -------
    >>> full = OSError(errno.ENOSPC, "No space left on device", "/r/save/x.ckpt")
    >>> print(describe_storage_error(full, "/r"))
    cannot write /r/save/x.ckpt: No space left on device. Free space (or pass another --output_folder than /r); the last complete checkpoint is kept and the same command resumes from it.
    >>> describe_storage_error(FileNotFoundError(2, "gone", "/x"), "/r") is None
    True
    """  # noqa: E501
    if error.errno not in STORAGE_ERRNOS:
        return None
    where = error.filename or output_folder
    return (
        f"cannot write {where}: {error.strerror}. Free space (or pass another "
        f"--output_folder than {output_folder}); the last complete checkpoint "
        "is kept and the same command resumes from it."
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
