"""Limited-label copies of a corpus, in the corpus's own layout, made of symlinks.

The probes of ``reproduce.py`` train on a budget of labelled minutes. Instead
of teaching the preparers about budgets, a subset folder is written that the
real preparers read unchanged:

* :func:`librispeech_subset`: the ``train-clean-100`` split reduced to about
  the budget (speaker and chapter folders, a symlink per chosen ``.flac``,
  rewritten ``.trans.txt`` files holding only the chosen lines); every other
  entry of the root (``dev-clean``, ``test-clean``, ``SPEAKERS.TXT``, ...) is a
  symlink to the original, untouched;
* :func:`voxceleb_subset`: the training speakers' utterances reduced to about
  the budget, every training speaker kept; the trial speakers' folders, the
  trials file and the metadata are symlinks to the originals.

Utterances are taken from every speaker in turn (:func:`round_robin`): one of
each speaker first (two in VoxCeleb1, whose preparer holds out one of every
speaker with two or more for validation), whatever the budget, then more until
the total reaches the budget, so the total passes the budget by less than one
utterance. A budget
larger than the corpus takes all of it and says so (``all_used``). The folder
holds ``subset.json`` (:class:`SubsetRecord`); a later call with the same
source and budget reuses it, one with another source is refused.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TypeVar

from summarymixing.data.audio import BadAudioError, probe_audio
from summarymixing.mp3s.corpora.voxceleb import read_trials

RECORD = "subset.json"
TRAIN_SPLIT = "train-clean-100"
T = TypeVar("T", bound=Hashable)


@dataclass(frozen=True)
class SubsetRecord:
    """What a subset folder holds: ``<folder>/subset.json``.

    ``minutes`` is the audio actually kept; ``all_used`` is True when the
    corpus has less than the budget (every utterance was taken),
    ``floor_exceeded`` when the utterances every speaker keeps whatever the
    budget (one in LibriSpeech, two in VoxCeleb1) were already more.
    """

    corpus: str
    source: str
    minutes_requested: float
    minutes: float
    utterances: int
    speakers: int
    all_used: bool
    floor_exceeded: bool


def round_robin(
    by_speaker: Mapping[str, Sequence[T]],
    seconds: Callable[[T], float | None],
    budget_seconds: float,
    floor: int = 1,
) -> tuple[list[T], float, bool]:
    """Take utterances from every speaker in turn until the budget is reached.

    Parameters
    ----------
    by_speaker : Mapping
        Speaker -> its utterances in the order they are taken.
    seconds : callable
        Duration of an utterance; None for one that cannot be read (skipped).
    budget_seconds : float
        Stop as soon as the total reaches it, once ``floor`` rounds are done.
    floor : int
        Utterances of every speaker (as far as it has them) taken whatever
        the budget.

    Returns
    -------
    tuple of (list, float, bool)
        The chosen utterances, their total seconds, and whether every
        utterance was taken.

    Example
    -------
    >>> lengths = {"a1": 2.0, "a2": 2.0, "a3": 2.0, "b1": 1.0}
    >>> round_robin({"a": ["a1", "a2", "a3"], "b": ["b1"]}, lengths.get, 4.5)
    (['a1', 'b1', 'a2'], 5.0, False)
    >>> round_robin({"a": ["a1"], "b": ["b1"]}, lengths.get, 60.0)
    (['a1', 'b1'], 3.0, True)
    >>> round_robin({"a": ["a1", "a2", "a3"], "b": ["b1"]}, lengths.get, 1.0, floor=2)
    (['a1', 'b1', 'a2'], 5.0, False)
    """
    queues = {speaker: iter(items) for speaker, items in sorted(by_speaker.items())}
    chosen: list[T] = []
    total, rounds = 0.0, 0
    while queues and (rounds < floor or total < budget_seconds):
        for speaker in list(queues):
            if rounds >= floor and total >= budget_seconds:
                break
            taken = _next_readable(queues[speaker], seconds)
            if taken is None:
                del queues[speaker]
                continue
            chosen.append(taken[0])
            total += taken[1]
        rounds += 1
    return chosen, total, _all_empty(queues, seconds)


def _next_readable(
    queue: Iterator[T], seconds: Callable[[T], float | None]
) -> tuple[T, float] | None:
    for item in queue:
        duration = seconds(item)
        if duration is not None:
            return item, duration
    return None


def _all_empty(
    queues: dict[str, Iterator[T]], seconds: Callable[[T], float | None]
) -> bool:
    return all(_next_readable(queue, seconds) is None for queue in queues.values())


def audio_seconds(path: Path) -> float | None:
    """Return the duration of an audio file, None when it cannot be read."""
    try:
        return probe_audio(path).duration
    except BadAudioError:
        return None


def librispeech_subset(source: Path, folder: Path, minutes: float) -> SubsetRecord:
    """Write (or reuse) a LibriSpeech root whose ``train-clean-100`` is cut.

    Example
    -------
    >>> import tempfile, torch
    >>> from summarymixing.data.audio import write_audio
    >>> root = Path(tempfile.mkdtemp())
    >>> for speaker in ("1", "2"):
    ...     chapter = root / "LS" / TRAIN_SPLIT / speaker / "7"
    ...     for k in range(3):
    ...         name = chapter / f"{speaker}-7-{k}.flac"
    ...         write_audio(name, torch.zeros(32000), 16000)
    ...     lines = [f"{speaker}-7-{k} WORD" for k in range(3)]
    ...     _ = (chapter / f"{speaker}-7.trans.txt").write_text(chr(10).join(lines))
    >>> record = librispeech_subset(root / "LS", root / "sub", minutes=0.1)
    >>> record.utterances, record.speakers, record.minutes, record.all_used
    (3, 2, 0.1, False)
    """
    source = source.resolve()
    by_speaker: dict[str, list[tuple[Path, str]]] = {}
    for transcript in sorted((source / TRAIN_SPLIT).glob("*/*/*.trans.txt")):
        for line in transcript.read_text(encoding="utf-8").splitlines():
            utterance, _, _ = line.strip().partition(" ")
            if utterance:
                speaker = transcript.parts[-3]
                by_speaker.setdefault(speaker, []).append((transcript, line.strip()))

    def seconds(item: tuple[Path, str]) -> float | None:
        return audio_seconds(item[0].parent / f"{item[1].split()[0]}.flac")

    def write(partial: Path, chosen: list[tuple[Path, str]]) -> None:
        _link_entries(source, partial, skip={TRAIN_SPLIT})
        lines: dict[Path, list[str]] = {}
        for transcript, line in chosen:
            chapter = partial / transcript.parent.relative_to(source)
            chapter.mkdir(parents=True, exist_ok=True)
            name = f"{line.split()[0]}.flac"
            (chapter / name).symlink_to(transcript.parent / name)
            lines.setdefault(chapter / transcript.name, []).append(line)
        for path, chapter_lines in lines.items():
            path.write_text("\n".join(sorted(chapter_lines)) + "\n", encoding="utf-8")

    return _subset(
        "librispeech", source, folder, minutes, by_speaker, seconds, write, floor=1
    )


def voxceleb_subset(source: Path, folder: Path, minutes: float) -> SubsetRecord:
    """Write (or reuse) a VoxCeleb1 root whose training speakers are cut.

    The trial speakers are those of ``veri_test2.txt`` (as the preparer
    reads them); every other speaker folder under ``wav/`` is a training one.
    """
    source = source.resolve()
    wav = source / "wav"
    trials = read_trials(source / "veri_test2.txt", wav)
    tested = {
        utterance.split("/")[0]
        for trial in trials
        for utterance in (trial.enrol_id, trial.test_id)
    }
    by_speaker: dict[str, list[Path]] = {}
    for path in sorted(wav.glob("id*/*/*.wav")):
        if path.parts[-3] not in tested:
            by_speaker.setdefault(path.parts[-3], []).append(path)

    def write(partial: Path, chosen: list[Path]) -> None:
        _link_entries(source, partial, skip={"wav"})
        (partial / "wav").mkdir()
        for speaker in sorted(tested):
            (partial / "wav" / speaker).symlink_to(wav / speaker)
        for path in chosen:
            target = partial / path.relative_to(source)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.symlink_to(path)

    return _subset(
        "voxceleb1", source, folder, minutes, by_speaker, audio_seconds, write, 2
    )


def _subset(
    corpus: str,
    source: Path,
    folder: Path,
    minutes: float,
    by_speaker: Mapping[str, Sequence[T]],
    seconds: Callable[[T], float | None],
    write: Callable[[Path, list[T]], None],
    floor: int,
) -> SubsetRecord:
    """Reuse the subset in ``folder``, or choose its utterances and write it."""
    existing = read_record(folder)
    if existing is not None:
        if existing.source == str(source) and existing.minutes_requested == minutes:
            return existing
        raise ValueError(
            f"{folder} holds a subset of {existing.source} "
            f"({existing.minutes_requested:g} min), not of {source} ({minutes:g} "
            "min): delete it or pass another --out"
        )
    if not by_speaker:
        raise FileNotFoundError(f"no training utterance found in {source}")
    cached = functools.cache(seconds)
    budget = minutes * 60.0
    chosen, total, all_used = round_robin(by_speaker, cached, budget, floor)
    least = round_robin(by_speaker, cached, 0.0, floor)[1]
    record = SubsetRecord(
        corpus, str(source), minutes, round(total / 60.0, 3), len(chosen),
        len(by_speaker), all_used and total < budget, least > budget,
    )  # fmt: skip
    partial = folder.with_name(folder.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    write(partial, chosen)
    (partial / RECORD).write_text(json.dumps(asdict(record), indent=2) + "\n")
    os.replace(partial, folder)
    return record


def read_record(folder: Path) -> SubsetRecord | None:
    """Return the ``subset.json`` of a finished subset folder, or None."""
    path = folder / RECORD
    if not path.is_file():
        return None
    return SubsetRecord(**json.loads(path.read_text()))


def _link_entries(source: Path, target: Path, skip: set[str]) -> None:
    """Symlink every entry of ``source`` into ``target`` except ``skip``."""
    for entry in sorted(source.iterdir()):
        if entry.name not in skip and not entry.name.startswith("."):
            (target / entry.name).symlink_to(entry)
