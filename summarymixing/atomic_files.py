"""Files that either exist whole or not at all: write to a temporary file, rename.

A pre-training run, a manifest preparation or a benchmark may be killed at any
moment (a pre-empted job, a full disk, Ctrl-C). Every file another step reads
back (manifests and their records, audio pieces, results, step logs, reports)
is therefore written next to its destination under a temporary name and moved
into place with ``os.replace``, atomic on POSIX: a reader sees the old file or
the new one, never half of one. The temporary name carries the process id, so
two processes writing the same file (two ranks, two benchmark jobs) do not
write into each other's temporary file; it is removed when the write fails.
"""

import json
import os
from collections.abc import Callable
from pathlib import Path


def write_atomically(path: str | Path, write: Callable[[Path], object]) -> Path:
    """Call ``write`` on a temporary path next to ``path``, then rename it.

    Parameters
    ----------
    path : str or pathlib.Path
        The destination; its parent folders are created.
    write : callable
        Writes the whole content to the path it is given.

    Returns
    -------
    pathlib.Path
        ``path``.

    Example
    -------
    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "a" / "b.txt"
    >>> write_atomically(path, lambda tmp: tmp.write_text("done")).read_text()
    'done'
    >>> sorted(p.name for p in path.parent.iterdir())
    ['b.txt']
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        write(temporary)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    return path


def write_text_atomically(path: str | Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically.

    Example
    -------
    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "notes.txt"
    >>> write_text_atomically(path, "hello").read_text()
    'hello'
    """
    return write_atomically(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def write_json_atomically(path: str | Path, content: dict) -> Path:
    """Write ``content`` as indented JSON (one space, final newline) atomically.

    Example
    -------
    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "result.json"
    >>> json.loads(write_json_atomically(path, {"WER": 3.1}).read_text())
    {'WER': 3.1}
    """
    return write_text_atomically(path, json.dumps(content, indent=1) + "\n")
