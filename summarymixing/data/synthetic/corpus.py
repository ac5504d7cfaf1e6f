"""``build_corpus``: one synthetic corpus, written once, in its real layout.

A build writes a small stamp file, ``.synthetic_corpus.json``, in the corpus
root: first marked incomplete, and marked complete as the very last step. A
later call with the same corpus, size (or hours) and seed finds the complete
stamp and returns at once (how a recipe restarted after a crash avoids
re-synthesising); a complete stamp of other arguments is refused;
an incomplete stamp means an interrupted build of ours, which is removed and
redone. A folder without our stamp is never written into. Builds of the same
corpus in several processes at once (every rank of a DDP job, say) are
serialised by a lock file next to the corpus: one builds, the others reuse.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import json
import math
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

from summarymixing.atomic_files import write_text_atomically

from . import buckeye, commonvoice, iemocap, librilight, librispeech, slurp, voxceleb

SIZES = ("tiny", "small")
STAMP = ".synthetic_corpus.json"
_FORMAT_VERSION = 1

_Builder = Callable[[Path, str, int, bool], None]
_BUILDERS: dict[str, tuple[str, _Builder]] = {
    "librispeech": ("LibriSpeech", librispeech.build),
    "librilight": ("librilight", librilight.build),
    "commonvoice-cy": (
        "cv-corpus/cy",
        functools.partial(commonvoice.build, language="cy"),
    ),
    "commonvoice-eu": (
        "cv-corpus/eu",
        functools.partial(commonvoice.build, language="eu"),
    ),
    "voxceleb1": ("VoxCeleb1", voxceleb.build),
    "iemocap": ("IEMOCAP_full_release", iemocap.build),
    "slurp": ("SLURP", slurp.build),
    "buckeye": ("Buckeye", buckeye.build),
}
CORPORA: dict[str, str] = {name: folder for name, (folder, _) in _BUILDERS.items()}
"""Corpus name -> its root folder relative to the output folder."""


def build_corpus(
    name: str,
    out_dir: str | Path,
    size: str = "tiny",
    seed: int = 0,
    progress: bool = True,
    hours: float | None = None,
) -> Path:
    """Synthesise corpus ``name`` under ``out_dir`` unless it is already there.

    Arguments
    ---------
    name : str
        One of ``CORPORA``: ``librispeech``, ``librilight``, ``commonvoice-cy``,
        ``commonvoice-eu``, ``voxceleb1``, ``iemocap``, ``slurp``, ``buckeye``.
    out_dir : str or Path
        Where corpora go; the corpus lands in ``out_dir / CORPORA[name]``.
    size : str
        ``"tiny"`` (seconds to build; unit tests) or ``"small"`` (the demo).
    seed : int
        Same seed, byte-identical files.
    progress : bool
        Show a tqdm progress bar.
    hours : float, optional
        ``librilight`` only: build at least this many hours of pre-training
        audio instead of ``size`` (many speakers, none of them and none of
        their sentences in the held-out probe splits; see ``librilight``).
        Refused before anything is written if the voices or the free disk
        space do not suffice. The stamp records ``hours`` instead of ``size``.

    Returns
    -------
    Path
        The corpus root: what the real recipes take as ``data_folder``.

    Example
    -------
    >>> import tempfile
    >>> out = tempfile.mkdtemp()
    >>> root = build_corpus("librilight", out, "tiny", progress=False)
    >>> root.relative_to(out).as_posix(), len(list(root.glob("small/*/*/*.flac")))
    ('librilight', 2)
    >>> build_corpus("librilight", out, "tiny", progress=False) == root  # no rebuild
    True
    >>> build_corpus("timit", out)
    Traceback (most recent call last):
    ...
    ValueError: unknown corpus 'timit'; valid corpora: librispeech, librilight, commonvoice-cy, commonvoice-eu, voxceleb1, iemocap, slurp, buckeye
    >>> build_corpus("slurp", out, hours=3)
    Traceback (most recent call last):
    ...
    ValueError: corpus 'slurp' takes no hours: only librilight takes hours
    """  # noqa: E501
    if name not in _BUILDERS:
        raise ValueError(
            f"unknown corpus {name!r}; valid corpora: {', '.join(CORPORA)}"
        )
    if size not in SIZES:
        raise ValueError(f"unknown size {size!r}; valid sizes: {', '.join(SIZES)}")
    folder, builder = _BUILDERS[name]
    root = Path(out_dir) / folder
    wanted = {"corpus": name, "size": size, "seed": seed, "version": _FORMAT_VERSION}
    if hours is not None:
        hours = _checked_hours(name, hours)
        del wanted["size"]  # unused: hours replace the size
        wanted["hours"] = hours
        builder = functools.partial(librilight.build, hours=hours)
        if not _has_complete_stamp(root):
            librilight.check_hours(Path(out_dir), hours, seed)
    root.parent.mkdir(parents=True, exist_ok=True)
    with _exclusive(root.parent / f".{root.name}.synthetic.lock"):
        if _prepare_root(root, wanted):
            return root
        _write_stamp(root, {**wanted, "complete": False})
        builder(root, size, seed, progress)
        _write_stamp(root, {**wanted, "complete": True})
    return root


def _checked_hours(name: str, hours: object) -> float:
    """``hours`` as a float, if ``name`` takes hours and it is a positive number."""
    if name != "librilight":
        raise ValueError(f"corpus {name!r} takes no hours: only librilight takes hours")
    if (
        isinstance(hours, bool)
        or not isinstance(hours, int | float)
        or not math.isfinite(hours)
        or hours <= 0
    ):
        raise ValueError(f"hours must be a positive number, not {hours!r}")
    return float(hours)


def _has_complete_stamp(root: Path) -> bool:
    """Whether ``root`` holds a finished build (ours; maybe another corpus)."""
    try:
        return bool(json.loads((root / STAMP).read_text()).get("complete"))
    except (OSError, ValueError):
        return False


@contextlib.contextmanager
def _exclusive(lock: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``lock`` (released if the process dies).

    Concurrent builds of one corpus (one per DDP rank, say) wait for the
    first one and then reuse its corpus.
    """
    with lock.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _prepare_root(root: Path, wanted: dict) -> bool:
    """Return True if ``root`` already holds the wanted corpus, else clear the way."""
    stamp = root / STAMP
    if stamp.exists():
        found = json.loads(stamp.read_text())
        complete = found.pop("complete", False)
        if complete and found == wanted:
            return True
        if complete:
            raise ValueError(
                f"{root} already holds a different synthetic corpus ({found}); "
                "pass another output folder or delete it"
            )
        shutil.rmtree(root)
    elif root.exists() and any(root.iterdir()):
        raise ValueError(
            f"{root} exists and was not written by summarymixing.data.synthetic; "
            "pass another output folder"
        )
    root.mkdir(parents=True, exist_ok=True)
    return False


def _write_stamp(root: Path, content: dict) -> None:
    write_text_atomically(root / STAMP, json.dumps(content, sort_keys=True) + "\n")
