"""What every MP3S corpus preparer shares: path checks, reuse, durations, text.

* :func:`require_path` turns a missing split, label file or audio folder into
  one ``FileNotFoundError`` that names the missing path, lists what the
  nearest existing folder holds and says how to fix it.
* :func:`prepare_splits` writes the manifests of all splits of a corpus, or
  reuses them when every one was prepared with the same options (see
  :mod:`summarymixing.data.manifest`). The MP3S preparers name their splits
  ``train``, ``valid`` and ``test`` whatever the corpus calls them, so that
  every recipe finds them under the same keys.
* :func:`probe_duration` reads a duration, or records why a file is left out:
  an unreadable audio file is never fatal.
* :func:`normalise_transcript` is the one text normalisation of the ASR
  corpora read here (Buckeye, CommonVoice Welsh and Basque).
"""

import logging
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from summarymixing.data.audio import BadAudioError, probe_audio
from summarymixing.data.manifest import (
    SkippedFile,
    manifest_is_current,
    write_manifest,
)

logger = logging.getLogger(__name__)

_LISTED_NAMES = 20
_APOSTROPHES = str.maketrans(dict.fromkeys("’‘`´ʼ", "'"))


@dataclass
class SplitRows:
    """Manifest rows of one split and the files left out of it.

    Example
    -------
    >>> split = SplitRows()
    >>> split.rows.append({"ID": "a", "duration": 1.0, "wav": "/a.wav"})
    >>> len(split.rows), split.skipped
    (1, [])
    """

    rows: list[dict] = field(default_factory=list)
    skipped: list[SkippedFile] = field(default_factory=list)


def folder_listing(folder: str | Path) -> str:
    """Describe what the nearest existing folder at or above ``folder`` holds.

    Hidden entries are not listed; sub-folders end with ``/``.

    Example
    -------
    >>> import tempfile
    >>> root = Path(tempfile.mkdtemp())
    >>> (root / "train.tsv").touch()
    >>> (root / "clips").mkdir()
    >>> folder_listing(root / "missing" / "deeper").endswith("holds: clips/, train.tsv")
    True
    """
    folder = Path(folder)
    while not folder.is_dir() and folder != folder.parent:
        folder = folder.parent
    names = sorted(
        entry.name + ("/" if entry.is_dir() else "")
        for entry in folder.iterdir()
        if not entry.name.startswith(".")
    )
    shown = ", ".join(names[:_LISTED_NAMES]) or "nothing"
    if len(names) > _LISTED_NAMES:
        shown += f", ... ({len(names) - _LISTED_NAMES} more)"
    return f"{folder} holds: {shown}"


def require_path(path: str | Path, what: str, hint: str) -> Path:
    """Return ``path`` if it exists; otherwise raise a message that helps.

    Arguments
    ---------
    path : str or Path
        File or folder the preparer needs.
    what : str
        What it is, e.g. ``"CommonVoice split 'dev'"``.
    hint : str
        How to fix it, e.g. which folder to pass as ``data_folder``.

    Raises
    ------
    FileNotFoundError
        Naming ``what`` and ``path``, listing the nearest existing folder.

    Example
    -------
    >>> import tempfile
    >>> root = Path(tempfile.mkdtemp())
    >>> (root / "train.tsv").touch()
    >>> require_path(root / "train.tsv", "split 'train'", "") == root / "train.tsv"
    True
    >>> try:
    ...     require_path(root / "dev.tsv", "split 'dev'", "Pass the language folder.")
    ... except FileNotFoundError as error:
    ...     message = str(error)
    >>> message.startswith("split 'dev' not found"), "holds: train.tsv." in message
    (True, True)
    """
    path = Path(path)
    if path.exists():
        return path
    raise FileNotFoundError(
        f"{what} not found: {path} does not exist; {folder_listing(path)}. {hint}"
    )


def probe_duration(path: str | Path, skipped: list[SkippedFile]) -> float | None:
    """Duration of an audio file in seconds, or ``None`` after noting why not.

    Example
    -------
    >>> skipped = []
    >>> probe_duration("/nonexistent/a.wav", skipped) is None, skipped[0].reason
    (True, 'file not found')
    """
    try:
        return probe_audio(path).duration
    except BadAudioError as error:
        skipped.append(SkippedFile(error.path, error.reason))
        return None


def normalise_transcript(text: str) -> str:
    """Upper-case words of letters, digits and inner apostrophes.

    The same rule for every ASR corpus here, chosen to match LibriSpeech's
    upper-case transcripts so that English character sets agree:

    1. Unicode NFC, so that a letter with its diacritic is one character
       (Welsh ``ŵ``, ``ŷ``, ``â``; Basque ``ñ``), then upper case.
    2. Typographic apostrophes (``’ ‘ ` ´ ʼ``) become ``'``.
    3. Every character that is not a letter, a digit, a combining mark or an
       apostrophe (punctuation, hyphens, quotes) becomes a space.
    4. Apostrophes at the edges of a word are removed (quotes, Welsh ``'na``
       → ``NA``); inside a word they stay (``mae'n`` → ``MAE'N``).

    Example
    -------
    >>> normalise_transcript("“Mae’n braf,” meddai Siôn — ar-lein!")
    "MAE'N BRAF MEDDAI SIÔN AR LEIN"
    >>> normalise_transcript("Iñaki 'etorri' da.")
    'IÑAKI ETORRI DA'
    """
    text = unicodedata.normalize("NFC", text).translate(_APOSTROPHES)
    kept = "".join(
        character
        if character == "'" or unicodedata.category(character)[0] in "LNM"
        else " "
        for character in text
    )
    words = (word.strip("'") for word in kept.split())
    return " ".join(word for word in words if word).upper()


def prepare_splits(
    save_folder: str | Path,
    splits: Sequence[str],
    options: Mapping[str, object],
    read_splits: Callable[[], Mapping[str, SplitRows]],
) -> dict[str, Path]:
    """Write ``<save_folder>/<split>.csv`` for every split, or reuse them all.

    The corpus is read (``read_splits``) only when some manifest is missing or
    was prepared with other options; each record holds ``options`` plus the
    split name.

    Arguments
    ---------
    save_folder : str or Path
        Where the manifests go.
    splits : sequence of str
        Split names; ``read_splits`` must return rows for each.
    options : mapping
        JSON-serialisable options that decide the manifests' content.
    read_splits : callable
        Returns ``{split: SplitRows}``.

    Returns
    -------
    dict
        Split name → manifest path.

    Example
    -------
    >>> import tempfile
    >>> save = Path(tempfile.mkdtemp())
    >>> def read():
    ...     print("reading the corpus")
    ...     return {"train": SplitRows([{"ID": "a", "duration": 1, "wav": "/a"}])}
    >>> manifests = prepare_splits(save, ["train"], {"corpus": "x"}, read)
    reading the corpus
    >>> prepare_splits(save, ["train"], {"corpus": "x"}, read) == manifests
    True
    """
    save_folder = Path(save_folder)
    manifests = {split: save_folder / f"{split}.csv" for split in splits}
    split_options = {split: {**options, "split": split} for split in splits}
    if all(manifest_is_current(manifests[s], split_options[s]) for s in splits):
        logger.info("Reusing the manifests in %s (same options)", save_folder)
        return manifests
    content = read_splits()
    for split in splits:
        write_manifest(
            manifests[split],
            content[split].rows,
            split_options[split],
            content[split].skipped,
        )
    return manifests
