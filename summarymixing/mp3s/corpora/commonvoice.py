"""CommonVoice manifests for MP3S ASR (Welsh ``cy``, Basque ``eu``).

Layout read (one language folder of a CommonVoice release, e.g.
``cv-corpus-11.0-2022-09-21/cy``)::

    <data_folder>/clips/common_voice_cy_<N>.mp3
    <data_folder>/train.tsv  dev.tsv  test.tsv

Each ``.tsv`` is tab-separated with a header holding at least ``path`` (a
file name in ``clips/``) and ``sentence``; ``client_id`` (the speaker) is read
when present. Quotes are ordinary characters in these files, not CSV quoting.

The manifests ``<save_folder>/{train,valid,test}.csv`` (``valid`` from
``dev.tsv``) have the columns ``ID,duration,wav,spk_id,wrd``: ``ID`` the clip
name without ``.mp3``, ``spk_id`` the ``client_id`` (empty when the column is
absent), ``wrd`` the sentence through
:func:`~summarymixing.mp3s.corpora.common.normalise_transcript` (upper case,
letters with their diacritics, digits and inner apostrophes; punctuation and
hyphens become spaces). As in MP3S, clips longer than ``max_duration``
(10 s) are left out; so are clips missing or unreadable, clips listed twice
and sentences with nothing left after normalisation. Every clip left out is
listed, with the reason, in the manifest's JSON record.
"""

import csv
import logging
from pathlib import Path

from summarymixing.data.manifest import SkippedFile
from summarymixing.mp3s.corpora.common import (
    SplitRows,
    normalise_transcript,
    prepare_splits,
    probe_duration,
    require_path,
)

logger = logging.getLogger(__name__)

SPLIT_FILES = {"train": "train.tsv", "valid": "dev.tsv", "test": "test.tsv"}
REQUIRED_COLUMNS = ("path", "sentence")
_HINT = (
    "Pass as data_folder the language folder of the CommonVoice release "
    "(e.g. .../cv-corpus-11.0-2022-09-21/cy), which holds clips/ and the .tsv "
    "files."
)


def read_tsv(path: str | Path) -> list[dict[str, str]]:
    r"""Rows of a CommonVoice ``.tsv`` file.

    Raises
    ------
    ValueError
        The header lacks ``path`` or ``sentence``.

    Example
    -------
    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "dev.tsv"
    >>> header = "client_id\tpath\tsentence\n"
    >>> _ = path.write_text(header + 'ab\tc1.mp3\t"Helo," medd\n')
    >>> read_tsv(path)
    [{'client_id': 'ab', 'path': 'c1.mp3', 'sentence': '"Helo," medd'}]
    """
    with open(path, encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        missing = [c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(
                f"{path}: the header lacks the column(s) {missing} (it has "
                f"{reader.fieldnames}); a CommonVoice .tsv needs path and sentence."
            )
        return list(reader)


def _split_rows(tsv: Path, clips: Path, max_duration: float) -> SplitRows:
    split, seen = SplitRows(), set()
    for entry in read_tsv(tsv):
        wav = clips / entry["path"]
        if wav.name in seen:
            split.skipped.append(SkippedFile(str(wav), f"listed twice in {tsv.name}"))
            continue
        seen.add(wav.name)
        text = normalise_transcript(entry["sentence"] or "")
        if not text:
            reason = f"sentence {entry['sentence']!r} is empty after normalisation"
            split.skipped.append(SkippedFile(str(wav), reason))
            continue
        duration = probe_duration(wav, split.skipped)
        if duration is None:
            continue
        if duration > max_duration:
            reason = f"longer than {max_duration} s ({duration:.2f} s)"
            split.skipped.append(SkippedFile(str(wav), reason))
            continue
        split.rows.append(
            {
                "ID": Path(entry["path"]).stem,
                "duration": duration,
                "wav": str(wav),
                "spk_id": entry.get("client_id") or "",
                "wrd": text,
            }
        )
    return split


def prepare_commonvoice(
    data_folder: str | Path, save_folder: str | Path, max_duration: float = 10.0
) -> dict[str, Path]:
    r"""Write the CommonVoice ``train``, ``valid`` and ``test`` manifests.

    Manifests prepared from the same folder with the same options are reused.

    Arguments
    ---------
    data_folder : str or Path
        The language folder (``.../cy``) holding ``clips/`` and the ``.tsv``.
    save_folder : str or Path
        Where ``train.csv``, ``valid.csv`` and ``test.csv`` go.
    max_duration : float
        Clips longer than this (seconds) are left out.

    Returns
    -------
    dict
        ``{"train": path, "valid": path, "test": path}``.

    Raises
    ------
    FileNotFoundError
        ``clips/`` or one of ``train.tsv``, ``dev.tsv``, ``test.tsv`` is missing
        (the message lists what the folder holds).

    Example
    -------
    >>> import tempfile, torch
    >>> from summarymixing.data.audio import write_audio
    >>> root = Path(tempfile.mkdtemp())
    >>> write_audio(root / "clips" / "c1.wav", torch.zeros(16000), 16000)
    >>> for name in ("train", "dev", "test"):
    ...     tsv = root / f"{name}.tsv"
    ...     _ = tsv.write_text("path\tsentence\nc1.wav\tPa un?\n")
    >>> manifests = prepare_commonvoice(root, root / "prep")
    >>> header, row = manifests["valid"].read_text().splitlines()
    >>> header, row.split(",")[:2], row.split(",")[3:]
    ('ID,duration,wav,spk_id,wrd', ['c1', '1.000'], ['', 'PA UN'])
    """
    data_folder, save_folder = Path(data_folder).resolve(), Path(save_folder)
    clips = require_path(data_folder / "clips", "CommonVoice clips folder", _HINT)
    tsvs = {
        split: require_path(
            data_folder / name, f"CommonVoice split {name!r} ({split})", _HINT
        )
        for split, name in SPLIT_FILES.items()
    }
    options = {
        "corpus": "commonvoice",
        "data_folder": str(data_folder),
        "max_duration": max_duration,
    }

    def read_splits() -> dict[str, SplitRows]:
        return {
            split: _split_rows(tsv, clips, max_duration) for split, tsv in tsvs.items()
        }

    return prepare_splits(save_folder, list(SPLIT_FILES), options, read_splits)
