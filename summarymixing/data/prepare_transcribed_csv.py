"""Any CSV of transcribed audio (``wav,wrd``) as a manifest.

The file needs the columns ``wav`` (an audio path, absolute or relative to the
CSV's folder) and ``wrd`` (its transcript); ``ID`` is taken when present
(otherwise the file's name without extension, numbered when two collide),
and any other column is dropped. Durations are read from the audio headers.
Rows whose audio is missing or unreadable, and rows with an empty
transcript, are left out, logged and listed in the manifest's JSON record,
as for the corpus preparers. The manifest ``<save_folder>/<csv name>`` has
the columns ``ID,duration,wav,wrd``.
"""

from __future__ import annotations

import csv
import logging
from pathlib import Path

from summarymixing.data.audio import BadAudioError, probe_audio
from summarymixing.data.manifest import (
    SkippedFile,
    manifest_is_current,
    write_manifest,
)

logger = logging.getLogger(__name__)
REQUIRED_COLUMNS = ("wav", "wrd")


def read_transcribed_csv(path: str | Path) -> list[dict[str, str]]:
    r"""Read the rows of a ``wav,wrd`` CSV, checking its columns.

    Raises
    ------
    FileNotFoundError
        When the file does not exist.
    ValueError
        When a required column is missing (the message lists those present).

    Example
    -------
    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "bad.csv"
    >>> _ = path.write_text("path,text\na.wav,HI\n")
    >>> read_transcribed_csv(path)
    Traceback (most recent call last):
    ...
    ValueError: ...bad.csv has no column 'wav', 'wrd' (columns: path, text)...
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"transcribed CSV {path} does not exist: pass a CSV file with the "
            "columns wav,wrd (or a LibriSpeech split name)"
        )
    with open(path, newline="", encoding="utf-8") as stream:
        reader = csv.DictReader(stream)
        columns = reader.fieldnames or []
        missing = [column for column in REQUIRED_COLUMNS if column not in columns]
        if missing:
            raise ValueError(
                f"{path} has no column {', '.join(repr(c) for c in missing)} "
                f"(columns: {', '.join(columns) or 'none'}); a transcribed CSV "
                "needs wav (audio path) and wrd (transcript)"
            )
        return list(reader)


def _utterance_id(row: dict[str, str], taken: set[str]) -> str:
    base = row.get("ID") or Path(row["wav"]).stem
    name, number = base, 1
    while name in taken:
        name, number = f"{base}_{number}", number + 1
    taken.add(name)
    return name


def prepare_transcribed_csv(csv_file: str | Path, save_folder: str | Path) -> Path:
    r"""Write the manifest of a ``wav,wrd`` CSV, reusing a current one.

    Parameters
    ----------
    csv_file : str or Path
        The user's CSV.
    save_folder : str or Path
        Where the manifest goes (named like the CSV).

    Returns
    -------
    Path
        The manifest.

    Example
    -------
    >>> import tempfile, torch
    >>> from summarymixing.data.audio import write_audio
    >>> root = Path(tempfile.mkdtemp())
    >>> write_audio(root / "a.wav", torch.zeros(8000), 16000)
    >>> _ = (root / "mine.csv").write_text("wav,wrd\na.wav,HELLO\nlost.wav,GONE\n")
    >>> manifest = prepare_transcribed_csv(root / "mine.csv", root / "prep")
    >>> manifest.read_text().splitlines()[1].split(",")[:2]
    ['a', '0.500']
    """
    csv_file = Path(csv_file).resolve()
    manifest = Path(save_folder) / csv_file.name
    stat = csv_file.stat() if csv_file.is_file() else None
    options = {
        "corpus": "transcribed_csv",
        "csv": str(csv_file),
        "size": stat.st_size if stat else None,
        "mtime_ns": stat.st_mtime_ns if stat else None,
    }
    if stat is not None and manifest_is_current(manifest, options):
        logger.info("Reusing %s (prepared from the same CSV)", manifest)
        return manifest
    rows, skipped, taken = [], [], set()
    for row in read_transcribed_csv(csv_file):
        audio = Path(row["wav"])
        audio = audio if audio.is_absolute() else csv_file.parent / audio
        text = (row["wrd"] or "").strip()
        if not text:
            skipped.append(SkippedFile(str(audio), "empty transcript"))
            continue
        try:
            duration = probe_audio(audio).duration
        except BadAudioError as error:
            skipped.append(SkippedFile(error.path, error.reason))
            continue
        utterance_id = _utterance_id(row, taken)
        rows.append({"ID": utterance_id, "duration": duration, "wav": str(audio)})
        rows[-1]["wrd"] = text
    return write_manifest(manifest, rows, options, skipped)
