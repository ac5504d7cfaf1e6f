"""Buckeye manifests for MP3S ASR: utterances cut out of interview sessions.

Layout read (the corpus as distributed, each session's zip unpacked)::

    <data_folder>/s01/s0101a.wav  s0101a.words  s0101a.txt  (s0101b..., s0102a...)
    ...
    <data_folder>/s40/...

Every ``*.words`` file under a speaker folder (``s`` and two digits; sessions
may sit one folder deeper) is read with the ``.wav`` of the same name. The
splits are by speaker, as in MP3S: ``valid`` = s36, s37; ``test`` = s38, s39,
s40; ``train`` = every other speaker folder present.

Sessions are cut into utterances of 2 to 15 s at pauses and markers (see
:mod:`summarymixing.mp3s.corpora.buckeye_words`); no audio is written. The manifests
``<save_folder>/{train,valid,test}.csv`` have the columns
``ID,duration,wav,start,stop,spk_id,wrd``: ``start``/``stop`` in seconds into
the session's ``.wav``, ``ID`` = ``<session>_<start>_<stop>`` (centiseconds),
``spk_id`` the speaker folder, ``wrd`` the words in upper case (as
LibriSpeech, through
:func:`~summarymixing.mp3s.corpora.common.normalise_transcript`), markers
dropped. A session whose ``.wav`` is missing or unreadable, or whose
``.words`` does not parse, is left out and listed in the manifest's record.
"""

import logging
import re
from pathlib import Path

from summarymixing.data.manifest import SkippedFile
from summarymixing.mp3s.corpora.buckeye_words import read_words_file, segment_session
from summarymixing.mp3s.corpora.common import (
    SplitRows,
    folder_listing,
    normalise_transcript,
    prepare_splits,
    probe_duration,
)

logger = logging.getLogger(__name__)

HELD_OUT_SPEAKERS = {"valid": ("s36", "s37"), "test": ("s38", "s39", "s40")}
SPLITS = ("train", "valid", "test")
_SPEAKER_FOLDER = re.compile(r"s\d\d")
_HINT = (
    "Pass as data_folder the Buckeye folder that holds the speaker folders "
    "s01 ... s40, with each session's zip archive unpacked inside its folder."
)


def find_speaker_folders(data_folder: str | Path) -> dict[str, Path]:
    """Speaker folders (``s01`` … ``s40``) under ``data_folder``, by name.

    Example
    -------
    >>> import tempfile
    >>> root = Path(tempfile.mkdtemp())
    >>> for name in ("s02", "s01", "docs"):
    ...     (root / name).mkdir()
    >>> list(find_speaker_folders(root))
    ['s01', 's02']
    """
    return {
        path.name: path
        for path in sorted(Path(data_folder).iterdir())
        if path.is_dir() and _SPEAKER_FOLDER.fullmatch(path.name)
    }


def speakers_by_split(speakers: list[str]) -> dict[str, list[str]]:
    """Split speaker names into MP3S ``train``, ``valid`` and ``test``.

    Raises
    ------
    FileNotFoundError
        None of the speakers of ``valid`` or ``test`` is present, or no
        training speaker is.

    Example
    -------
    >>> speakers_by_split(["s01", "s02", "s36", "s38", "s40"])
    {'train': ['s01', 's02'], 'valid': ['s36'], 'test': ['s38', 's40']}
    """
    held_out = {name for names in HELD_OUT_SPEAKERS.values() for name in names}
    splits = {"train": sorted(set(speakers) - held_out)}
    for split, names in HELD_OUT_SPEAKERS.items():
        splits[split] = [name for name in names if name in speakers]
    for split, names in splits.items():
        if not names:
            wanted = ", ".join(HELD_OUT_SPEAKERS.get(split, ("s01 ... s35",)))
            raise FileNotFoundError(
                f"Buckeye split {split!r} not found: none of its speaker folders "
                f"({wanted}) is present (found: {', '.join(speakers) or 'none'})."
            )
    return splits


def _sessions(speaker_folder: Path) -> list[Path]:
    sessions = sorted(speaker_folder.rglob("*.words"))
    if not sessions:
        raise FileNotFoundError(
            f"Buckeye speaker folder {speaker_folder} holds no .words file; "
            f"{folder_listing(speaker_folder)}. {_HINT}"
        )
    return sessions


def _session_rows(
    words_path: Path, speaker: str, options: dict, skipped: list[SkippedFile]
) -> list[dict]:
    wav = words_path.with_suffix(".wav")
    duration = probe_duration(wav, skipped)
    if duration is None:
        return []
    try:
        stretches = read_words_file(words_path)
    except (OSError, ValueError) as error:
        skipped.append(SkippedFile(str(words_path), f"cannot read ({error})"))
        return []
    rows = []
    for utterance in segment_session(
        stretches,
        options["min_duration"],
        options["max_duration"],
        options["max_pause"],
    ):
        stop = min(utterance.stop, duration)
        text = normalise_transcript(" ".join(utterance.words))
        if stop - utterance.start < options["min_duration"] or not text:
            continue
        rows.append(
            {
                "ID": f"{wav.stem}_{utterance.start * 100:07.0f}_{stop * 100:07.0f}",
                "duration": stop - utterance.start,
                "wav": str(wav),
                "start": utterance.start,
                "stop": stop,
                "spk_id": speaker,
                "wrd": text,
            }
        )
    return rows


def prepare_buckeye(
    data_folder: str | Path,
    save_folder: str | Path,
    min_duration: float = 2.0,
    max_duration: float = 15.0,
    max_pause: float = 2.0,
) -> dict[str, Path]:
    r"""Write the Buckeye ``train``, ``valid`` and ``test`` manifests.

    Manifests prepared from the same folder with the same options are reused.

    Arguments
    ---------
    data_folder : str or Path
        Folder holding the speaker folders ``s01`` … ``s40``.
    save_folder : str or Path
        Where ``train.csv``, ``valid.csv`` and ``test.csv`` go.
    min_duration, max_duration : float
        Bounds on an utterance's length in seconds (MP3S: at least 2 s).
    max_pause : float
        Longest pause kept inside an utterance, in seconds.

    Returns
    -------
    dict
        ``{"train": path, "valid": path, "test": path}``.

    Raises
    ------
    FileNotFoundError
        ``data_folder`` is missing, a split has none of its speakers, or a
        speaker folder holds no ``.words`` file (zip archives not unpacked).

    Example
    -------
    >>> import tempfile, torch
    >>> from summarymixing.data.audio import write_audio
    >>> root = Path(tempfile.mkdtemp())
    >>> words = "#\n 0.5 122 <SIL>\n 1.5 122 hello\n 3.0 122 there\n"
    >>> for speaker in ("s01", "s36", "s38"):
    ...     write_audio(root / speaker / f"{speaker}01a.wav", torch.zeros(64000), 16000)
    ...     _ = (root / speaker / f"{speaker}01a.words").write_text(words)
    >>> manifests = prepare_buckeye(root, root / "prep")
    >>> manifests["test"].read_text().splitlines()[1].split(",")[4:]
    ['3.000', 's38', 'HELLO THERE']
    """
    data_folder, save_folder = Path(data_folder).resolve(), Path(save_folder)
    if not data_folder.is_dir():
        raise FileNotFoundError(
            f"Buckeye folder {data_folder} not found; {folder_listing(data_folder)}. "
            f"{_HINT}"
        )
    folders = find_speaker_folders(data_folder)
    try:
        split_speakers = speakers_by_split(list(folders))
    except FileNotFoundError as error:
        raise FileNotFoundError(
            f"{error} {folder_listing(data_folder)}. {_HINT}"
        ) from None
    options = {
        "corpus": "buckeye",
        "data_folder": str(data_folder),
        "min_duration": min_duration,
        "max_duration": max_duration,
        "max_pause": max_pause,
    }

    def read_splits() -> dict[str, SplitRows]:
        content = {}
        for split, speakers in split_speakers.items():
            content[split] = SplitRows()
            for speaker in speakers:
                for words_path in _sessions(folders[speaker]):
                    content[split].rows += _session_rows(
                        words_path, speaker, options, content[split].skipped
                    )
        return content

    return prepare_splits(save_folder, SPLITS, options, read_splits)
