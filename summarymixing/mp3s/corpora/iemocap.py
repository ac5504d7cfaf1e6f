"""IEMOCAP manifests for MP3S emotion recognition, one leave-one-speaker-out fold.

Layout read (``IEMOCAP_full_release``)::

    <data_folder>/Session<n>/sentences/wav/<dialog>/<utterance>.wav
    <data_folder>/Session<n>/dialog/EmoEvaluation/<dialog>.txt

Each evaluation file holds, per turn, a line
``[start - end]<TAB><utterance><TAB><emotion><TAB>[v, a, d]`` among annotator
lines, which are ignored. The four classes of MP3S are kept: ``neu``,
``hap`` (with ``exc`` merged into it), ``sad`` and ``ang`` (5,531 turns in the
real corpus); turns with any other label are dropped and their number per
label is logged.

Speakers and folds follow SpeechBrain's IEMOCAP recipe, which MP3S uses:
each session has one woman and one man; speaker ``2n-1`` is the woman of
session ``n`` and speaker ``2n`` the man (the sex is the letter before the
turn number, ``Ses01F_impro01_M000`` being the man of session 1). Fold ``k``
(1 to 10) tests on speaker ``k``, validates on the other speaker of the same
session and trains on the eight others.

The manifests ``<save_folder>/{train,valid,test}.csv`` have the columns
``ID,duration,wav,spk_id,emo``: ``ID`` the utterance name, ``spk_id`` the
session and sex (``Ses01F``), ``emo`` one of ``neu hap sad ang``. Missing or
unreadable audio files are left out and listed in the manifest's record.
"""

import logging
import re
from collections import Counter
from pathlib import Path

from summarymixing.mp3s.corpora.common import (
    SplitRows,
    prepare_splits,
    probe_duration,
    require_path,
)

logger = logging.getLogger(__name__)

EMOTIONS = ("neu", "hap", "sad", "ang")
MERGED = {"exc": "hap"}
SESSIONS = range(1, 6)
SPLITS = ("train", "valid", "test")
_TURN_LINE = re.compile(r"^\[\s*[\d.]+\s*-\s*[\d.]+\s*\]\t(\S+)\t(\S+)\t\[")
_UTTERANCE = re.compile(r"(Ses\d\d)[FM]_\S*_([FM])[^_]*")
_HINT = (
    "Pass as data_folder the IEMOCAP_full_release folder, which holds "
    "Session1 ... Session5."
)


def read_emotion_labels(evaluation_file: str | Path) -> dict[str, str]:
    r"""Utterance → emotion label from one ``EmoEvaluation/<dialog>.txt``.

    Example
    -------
    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "Ses01F_impro01.txt"
    >>> _ = path.write_text(
    ...     "% [START_TIME - END_TIME] TURN_NAME EMOTION [V, A, D]\n\n"
    ...     "[6.2901 - 8.2357]\tSes01F_impro01_F000\tneu\t[2.50, 2.50, 2.50]\n"
    ...     "C-E2:\tNeutral;\t()\n"
    ... )
    >>> read_emotion_labels(path)
    {'Ses01F_impro01_F000': 'neu'}
    """
    labels = {}
    text = Path(evaluation_file).read_text(encoding="utf-8", errors="replace")
    for line in text.splitlines():
        match = _TURN_LINE.match(line)
        if match:
            labels[match.group(1)] = match.group(2)
    return labels


def speaker_of(utterance: str) -> str:
    """Speaker of a turn: its session and the sex letter before the turn number.

    Raises
    ------
    ValueError
        The name does not look like an IEMOCAP turn.

    Example
    -------
    >>> speaker_of("Ses01F_impro01_M000"), speaker_of("Ses05M_script02_2_F014")
    ('Ses01M', 'Ses05F')
    """
    match = _UTTERANCE.fullmatch(utterance)
    if match is None:
        raise ValueError(f"{utterance!r} is not an IEMOCAP turn name (Ses01F_..._F000)")
    return match.group(1) + match.group(2)


def fold_speakers(fold: int) -> tuple[str, str]:
    """Test and validation speakers of leave-one-speaker-out fold 1 … 10.

    Raises
    ------
    ValueError
        ``fold`` is not in 1 … 10.

    Example
    -------
    >>> fold_speakers(1), fold_speakers(4), fold_speakers(10)
    (('Ses01F', 'Ses01M'), ('Ses02M', 'Ses02F'), ('Ses05M', 'Ses05F'))
    """
    if fold not in range(1, 11):
        raise ValueError(
            f"IEMOCAP fold must be 1 to 10 (one per speaker), got {fold!r}."
        )
    session = f"Ses{(fold + 1) // 2:02d}"
    test_sex, valid_sex = ("F", "M") if fold % 2 else ("M", "F")
    return session + test_sex, session + valid_sex


def _labelled_turns(data_folder: Path) -> dict[str, tuple[Path, str]]:
    """Utterance → (wav path, four-class label) over all five sessions."""
    turns, dropped = {}, Counter()
    for session in SESSIONS:
        folder = data_folder / f"Session{session}"
        evaluation = require_path(
            folder / "dialog" / "EmoEvaluation",
            f"IEMOCAP labels of Session{session}",
            _HINT,
        )
        for label_file in sorted(evaluation.glob("Ses*.txt")):
            for utterance, label in read_emotion_labels(label_file).items():
                label = MERGED.get(label, label)
                if label not in EMOTIONS:
                    dropped[label] += 1
                    continue
                dialog = utterance.rsplit("_", 1)[0]
                wav = folder / "sentences" / "wav" / dialog / f"{utterance}.wav"
                turns[utterance] = (wav, label)
    logger.info(
        "IEMOCAP: %d turns in %s; dropped (other labels): %s",
        len(turns),
        "/".join(EMOTIONS),
        dict(sorted(dropped.items())) or "none",
    )
    return turns


def prepare_iemocap(
    data_folder: str | Path, save_folder: str | Path, fold: int = 1
) -> dict[str, Path]:
    r"""Write the IEMOCAP ``train``, ``valid`` and ``test`` manifests of ``fold``.

    Manifests prepared from the same folder for the same fold are reused;
    another fold rewrites them, so give each fold its own ``save_folder`` to
    keep them all.

    Arguments
    ---------
    data_folder : str or Path
        The ``IEMOCAP_full_release`` folder.
    save_folder : str or Path
        Where ``train.csv``, ``valid.csv`` and ``test.csv`` go.
    fold : int
        1 … 10: the test speaker (see the module docstring).

    Returns
    -------
    dict
        ``{"train": path, "valid": path, "test": path}``.

    Raises
    ------
    FileNotFoundError
        A session's ``dialog/EmoEvaluation`` folder is missing.
    ValueError
        ``fold`` is not in 1 … 10.

    Example
    -------
    >>> import tempfile, torch
    >>> from summarymixing.data.audio import write_audio
    >>> root = Path(tempfile.mkdtemp())
    >>> for n in range(1, 6):
    ...     labels = root / f"Session{n}" / "dialog" / "EmoEvaluation"
    ...     labels.mkdir(parents=True)
    ...     lines = ""
    ...     for sex, emotion in (("F", "exc"), ("M", "fru")):
    ...         turn = f"Ses0{n}F_impro01_{sex}000"
    ...         wav = root / f"Session{n}/sentences/wav/Ses0{n}F_impro01/{turn}.wav"
    ...         write_audio(wav, torch.zeros(16000), 16000)
    ...         lines += f"[0.1 - 1.1]\t{turn}\t{emotion}\t[2.0, 3.0, 3.0]\n"
    ...     _ = (labels / f"Ses0{n}F_impro01.txt").write_text(lines)
    >>> manifests = prepare_iemocap(root, root / "prep", fold=3)
    >>> manifests["test"].read_text().splitlines()[1].split(",")[-2:]
    ['Ses02F', 'hap']
    """
    test_speaker, valid_speaker = fold_speakers(fold)
    data_folder, save_folder = Path(data_folder).resolve(), Path(save_folder)
    for session in SESSIONS:
        require_path(
            data_folder / f"Session{session}", f"IEMOCAP Session{session}", _HINT
        )
    options = {"corpus": "iemocap", "data_folder": str(data_folder), "fold": fold}

    def split_of(speaker: str) -> str:
        return {test_speaker: "test", valid_speaker: "valid"}.get(speaker, "train")

    def read_splits() -> dict[str, SplitRows]:
        content = {split: SplitRows() for split in SPLITS}
        for utterance, (wav, label) in _labelled_turns(data_folder).items():
            speaker = speaker_of(utterance)
            split = content[split_of(speaker)]
            duration = probe_duration(wav, split.skipped)
            if duration is not None:
                split.rows.append(
                    {
                        "ID": utterance,
                        "duration": duration,
                        "wav": str(wav),
                        "spk_id": speaker,
                        "emo": label,
                    }
                )
        return content

    return prepare_splits(save_folder, SPLITS, options, read_splits)
