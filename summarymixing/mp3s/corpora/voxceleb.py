"""VoxCeleb1 manifests for MP3S speaker verification, and its trials.

Layout read (VoxCeleb1 dev and test audio unpacked into one ``wav`` folder,
with the cleaned trial list of VoxCeleb1-O)::

    <data_folder>/wav/<idXXXXX>/<video>/<NNNNN>.wav
    <data_folder>/veri_test2.txt     lines "<1|0> <enrol path> <test path>"

Trial paths are relative to ``wav/``. The verification speakers are those
named in the trials; every other speaker folder under ``wav/`` is a training
speaker (1,211 in the real corpus). An utterance's ID is its path relative to
``wav/`` without ``.wav`` (``id10270/x6uYqmx31kE/00001``), which is how
:func:`read_trials` names it too.

Manifests in ``save_folder``, all with the columns
``ID,duration,wav,start,stop,spk_id`` (``start``/``stop`` in seconds):

* ``train`` and ``valid``: the training speakers' utterances cut into
  consecutive ``chunk_seconds`` (3 s) chunks as in the MP3S recipe (the rest
  of an utterance shorter than a chunk is dropped; an utterance shorter than
  one chunk is kept whole), ``ID`` = ``<utterance>_<k>``. ``valid_fraction``
  of each speaker's utterances (at least one when it has two or more), drawn
  with ``seed``, go to ``valid``: same speakers, for the classifier's
  validation accuracy.
* ``enrol`` and ``test``: every distinct enrolment and test utterance of the
  trials, whole (``start`` 0, ``stop`` the duration).

Unreadable audio files are left out and listed in each manifest's record; a
trial naming a file that does not exist is an error (see :func:`read_trials`).
"""

import logging
import math
import random
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from summarymixing.mp3s.corpora.common import (
    SplitRows,
    prepare_splits,
    probe_duration,
    require_path,
)

logger = logging.getLogger(__name__)

SPLITS = ("train", "valid", "enrol", "test")
_HINT = (
    "Pass as data_folder the VoxCeleb1 folder whose wav/ holds the speaker "
    "folders of both vox1_dev_wav and vox1_test_wav, or pass trials_file."
)


def utterance_id(relative_path: str) -> str:
    """ID of an utterance from its path relative to ``wav/``.

    Example
    -------
    >>> utterance_id("id10270/x6uYqmx31kE/00001.wav")
    'id10270/x6uYqmx31kE/00001'
    """
    return relative_path.removesuffix(".wav")


@dataclass(frozen=True)
class Trial:
    """One verification trial: 1 when both utterances share the speaker.

    Example
    -------
    >>> trial = Trial(1, "id10270/a/00001", "id10270/b/00002")
    >>> trial.label, trial.test_id
    (1, 'id10270/b/00002')
    """

    label: int
    enrol_id: str
    test_id: str


def read_trials(trials_file: str | Path, wav_folder: str | Path) -> list[Trial]:
    r"""Read a VoxCeleb trials file and check that every file it names exists.

    Arguments
    ---------
    trials_file : str or Path
        Lines ``<1|0> <enrol path> <test path>``, paths relative to
        ``wav_folder``.
    wav_folder : str or Path
        The ``wav`` folder.

    Returns
    -------
    list of Trial

    Raises
    ------
    FileNotFoundError
        The trials file is missing, or a trial names a file that is not under
        ``wav_folder`` (the message names the file, the trials file and line).
    ValueError
        A line is not ``label enrol test`` with label 0 or 1.

    Example
    -------
    >>> import tempfile
    >>> root = Path(tempfile.mkdtemp())
    >>> for name in ("id1/v/00001.wav", "id2/v/00001.wav"):
    ...     (root / "wav" / name).parent.mkdir(parents=True)
    ...     (root / "wav" / name).touch()
    >>> _ = (root / "trials.txt").write_text("0 id1/v/00001.wav id2/v/00001.wav\n")
    >>> read_trials(root / "trials.txt", root / "wav")
    [Trial(label=0, enrol_id='id1/v/00001', test_id='id2/v/00001')]
    >>> _ = (root / "bad.txt").write_text("1 id1/v/00001.wav id1/v/00002.wav\n")
    >>> try:
    ...     read_trials(root / "bad.txt", root / "wav")
    ... except FileNotFoundError as error:
    ...     print(str(error)[:40])
    bad.txt line 1 names id1/v/00002.wav, wh
    """
    trials_file, wav_folder = Path(trials_file), Path(wav_folder)
    require_path(trials_file, "VoxCeleb trials file", _HINT)
    trials, checked = [], set()
    for number, line in enumerate(trials_file.read_text().splitlines(), start=1):
        fields = line.split()
        if not fields:
            continue
        if len(fields) != 3 or fields[0] not in ("0", "1"):
            raise ValueError(
                f"{trials_file} line {number}: expected '<1|0> <enrol path> "
                f"<test path>', got {line!r}."
            )
        for relative in fields[1:]:
            if relative not in checked and not (wav_folder / relative).is_file():
                raise FileNotFoundError(
                    f"{trials_file.name} line {number} names {relative}, which is "
                    f"not in the wav folder {wav_folder} (trials file: "
                    f"{trials_file}). {_HINT}"
                )
            checked.add(relative)
        trials.append(Trial(int(fields[0]), *map(utterance_id, fields[1:])))
    return trials


def _chunk_bounds(duration: float, chunk_seconds: float) -> list[tuple[float, float]]:
    count = math.floor(duration / chunk_seconds)
    if count == 0:
        return [(0.0, duration)]
    return [(k * chunk_seconds, (k + 1) * chunk_seconds) for k in range(count)]


def _training_utterances(
    wav_folder: Path, trial_speakers: set[str], valid_fraction: float, seed: int
) -> dict[str, list[Path]]:
    by_speaker = defaultdict(list)
    for path in sorted(wav_folder.glob("id*/*/*.wav")):
        if path.parts[-3] not in trial_speakers:
            by_speaker[path.parts[-3]].append(path)
    if not by_speaker:
        raise FileNotFoundError(
            f"No VoxCeleb training speaker in {wav_folder}: every speaker folder "
            f"there appears in the trials. {_HINT}"
        )
    rng = random.Random(seed)
    splits = {"train": [], "valid": []}
    for paths in by_speaker.values():
        rng.shuffle(paths)
        held_out = max(round(valid_fraction * len(paths)), int(len(paths) > 1))
        splits["valid"] += sorted(paths[:held_out])
        splits["train"] += sorted(paths[held_out:])
    return splits


def _rows(paths: list[Path], wav_folder: Path, chunk_seconds: float | None):
    split = SplitRows()
    for path in paths:
        duration = probe_duration(path, split.skipped)
        if duration is None:
            continue
        utterance = utterance_id(path.relative_to(wav_folder).as_posix())
        bounds = _chunk_bounds(duration, chunk_seconds) if chunk_seconds else None
        for index, (start, stop) in enumerate(bounds or [(0.0, duration)]):
            split.rows.append(
                {
                    "ID": f"{utterance}_{index}" if bounds else utterance,
                    "duration": stop - start,
                    "wav": str(path),
                    "start": start,
                    "stop": stop,
                    "spk_id": path.parts[-3],
                }
            )
    return split


def prepare_voxceleb(
    data_folder: str | Path,
    save_folder: str | Path,
    trials_file: str | Path | None = None,
    chunk_seconds: float = 3.0,
    valid_fraction: float = 0.1,
    seed: int = 1986,
) -> dict[str, Path]:
    r"""Write the VoxCeleb1 ``train``, ``valid``, ``enrol`` and ``test`` manifests.

    Manifests prepared from the same folders with the same options are reused.

    Arguments
    ---------
    data_folder : str or Path
        Folder holding ``wav/`` (and, by default, ``veri_test2.txt``).
    save_folder : str or Path
        Where the four manifests go.
    trials_file : str or Path, optional
        The trial list; default ``<data_folder>/veri_test2.txt``.
    chunk_seconds : float
        Length of the training chunks.
    valid_fraction : float
        Share of each training speaker's utterances held out for validation.
    seed : int
        Seed of that draw.

    Returns
    -------
    dict
        ``{"train", "valid", "enrol", "test"}`` → manifest path.

    Raises
    ------
    FileNotFoundError
        ``wav/`` or the trials file is missing, a trial names a missing file,
        or no speaker is left for training.

    Example
    -------
    >>> import tempfile, torch
    >>> from summarymixing.data.audio import write_audio
    >>> root = Path(tempfile.mkdtemp())
    >>> for name in ("id10001/v/00001", "id10001/w/00001", "id10270/v/00001"):
    ...     write_audio(root / "wav" / f"{name}.wav", torch.zeros(112000), 16000)
    >>> trial = "1 id10270/v/00001.wav id10270/v/00001.wav\n"
    >>> _ = (root / "veri_test2.txt").write_text(trial)
    >>> manifests = prepare_voxceleb(root, root / "prep")
    >>> [line.split(",")[0] for line in manifests["train"].read_text().splitlines()]
    ['ID', 'id10001/w/00001_0', 'id10001/w/00001_1']
    """
    data_folder, save_folder = Path(data_folder).resolve(), Path(save_folder)
    wav_folder = require_path(data_folder / "wav", "VoxCeleb1 wav folder", _HINT)
    trials_file = Path(trials_file or data_folder / "veri_test2.txt").resolve()
    trials = read_trials(trials_file, wav_folder)
    options = {
        "corpus": "voxceleb1",
        "wav_folder": str(wav_folder),
        "trials_file": str(trials_file),
        "chunk_seconds": chunk_seconds,
        "valid_fraction": valid_fraction,
        "seed": seed,
    }

    def read_splits() -> dict[str, SplitRows]:
        trial_speakers = {
            utterance.split("/")[0]
            for trial in trials
            for utterance in (trial.enrol_id, trial.test_id)
        }
        training = _training_utterances(
            wav_folder, trial_speakers, valid_fraction, seed
        )
        content = {
            split: _rows(paths, wav_folder, chunk_seconds)
            for split, paths in training.items()
        }
        for split in ("enrol", "test"):
            ids = sorted({getattr(trial, f"{split}_id") for trial in trials})
            paths = [wav_folder / f"{utterance}.wav" for utterance in ids]
            content[split] = _rows(paths, wav_folder, None)
        return content

    return prepare_splits(save_folder, SPLITS, options, read_splits)
