"""Libri-Light's limited-resource layout over synthetic LibriSpeech.

Libri-Light's fine-tuning sets (``librispeech_finetuning``: ``1h/0..5`` and
``9h``, each ``clean`` and ``other``) are drawn from LibriSpeech's training
audio. The synthetic version does the same with the synthetic
``train-clean-100``: its utterances, in sorted order, are dealt round-robin
to the 14 ``clean``/``other`` folders, hard-linked (copied where links are not
possible), each chapter with its own ``.trans.txt``. So the real preparer
(:mod:`summarymixing.data.prepare_limited_resource`) is what the tests and
the demo run. The sizes are not Libri-Light's (the ``small`` corpus has 480
training utterances, about 34 per folder) and the ``other`` folders are no
harder than the ``clean`` ones.
"""

from __future__ import annotations

import os
import shutil
from collections import defaultdict
from pathlib import Path

from summarymixing.data.prepare_librispeech import read_transcripts

FOLDER = "librispeech_finetuning"
PARTS = tuple(
    [f"1h/{fold}/{part}" for fold in range(6) for part in ("clean", "other")]
    + ["9h/clean", "9h/other"]
)
SOURCE_SPLIT = "train-clean-100"


def build_limited_resource(
    librispeech_root: str | Path, folder: str | Path | None = None
) -> Path:
    """Write the limited-resource layout unless it is there.

    Parameters
    ----------
    librispeech_root : str or Path
        A synthetic LibriSpeech (``build_corpus("librispeech", ...)``).
    folder : str or Path, optional
        Where to write it; default ``<librispeech_root>/librispeech_finetuning``
        (where the recipe looks by default). Elsewhere, the corpus is left
        untouched (links point into it).

    Returns
    -------
    Path
        The ``librispeech_finetuning`` folder.

    Example
    -------
    >>> import tempfile
    >>> from summarymixing.data.synthetic import build_corpus
    >>> root = build_corpus("librispeech", tempfile.mkdtemp(), "tiny", progress=False)
    >>> folder = build_limited_resource(root)
    >>> sorted(p.name for p in folder.iterdir()), len(list(folder.rglob("*.flac")))
    (['1h', '9h'], 16)
    """
    root = Path(librispeech_root)
    folder = Path(folder) if folder is not None else root / FOLDER
    done = folder.parent / f"{folder.name}.complete"
    if done.is_file():
        return folder
    source = root / SOURCE_SPLIT
    transcripts = read_transcripts(source)
    if len(transcripts) < len(PARTS):
        raise ValueError(
            f"{source} has {len(transcripts)} utterances, fewer than the "
            f"{len(PARTS)} folders of the limited-resource layout"
        )
    staging = folder.parent / f"{folder.name}.partial"
    shutil.rmtree(staging, ignore_errors=True)
    lines: dict[Path, list[str]] = defaultdict(list)
    for index, (utterance_id, text) in enumerate(transcripts.items()):
        speaker, chapter, _ = utterance_id.split("-")
        chapter_folder = staging / PARTS[index % len(PARTS)] / speaker / chapter
        chapter_folder.mkdir(parents=True, exist_ok=True)
        name = f"{utterance_id}.flac"
        _link_or_copy(source / speaker / chapter / name, chapter_folder / name)
        lines[chapter_folder].append(f"{utterance_id} {text}")
    for chapter_folder, chapter_lines in lines.items():
        prefix = f"{chapter_folder.parent.name}-{chapter_folder.name}"
        (chapter_folder / f"{prefix}.trans.txt").write_text(
            "\n".join(chapter_lines) + "\n"
        )
    shutil.rmtree(folder, ignore_errors=True)
    staging.rename(folder)
    done.write_text("complete\n")
    return folder


def _link_or_copy(source: Path, target: Path) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)
