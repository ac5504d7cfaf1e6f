"""Buckeye ``.words`` files, and how a session is cut into utterances.

A ``.words`` file (one per session, next to its ``.wav``) starts with a
header that ends with a line holding only ``#``; every later line is one
labelled stretch of the recording::

        1.770250  122 robert; r aa b er t; r aa b er; NNP

that is its END time in seconds, a display colour, then ``;``-separated
fields of which the first is the label. A stretch starts where the previous
one ends (the first at 0). Labels are words (lower case, as spoken) or
markers in angle or curly brackets. Markers fall into two groups here:

* pauses, ``<SIL>``, ``<NOISE>``, ``<VOCNOISE>`` and ``<LAUGH>``: no words are
  spoken, so their audio may sit inside an utterance (a CTC model learns to
  emit blanks there);
* breaks, every other marker: ``{B_TRANS}``/``{E_TRANS}`` (outside the
  interview), ``<IVER>`` (the interviewer speaking), ``<UNKNOWN>``,
  ``<CUTOFF-...>``, ``<EXCLUDE-...>``, ``<HES-...>``, ``<ERROR-...>``,
  ``<LAUGH-word>`` and the like: speech that the transcript does not give, so
  no utterance may contain their audio.

:func:`segment_session` cuts a session at every pause and break into
stretches of consecutive words, then joins a stretch that is shorter than
``min_duration`` with the following ones across pauses of at most
``max_pause`` seconds, as long as the result stays within ``max_duration``.
Utterances still shorter than ``min_duration`` (MP3S keeps segments of at
least 2 s) are dropped. The transcript keeps the words and drops every marker.
"""

import logging
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger(__name__)

PAUSE_MARKERS = frozenset({"<SIL>", "<NOISE>", "<VOCNOISE>", "<LAUGH>"})
HEADER_END = "#"


@dataclass(frozen=True)
class Stretch:
    """One labelled stretch of a session: ``[start, end)`` in seconds.

    Example
    -------
    >>> Stretch(1.0, 1.4, "okay").is_word, Stretch(1.4, 2.0, "<SIL>").is_pause
    (True, True)
    """

    start: float
    end: float
    label: str

    @property
    def is_word(self) -> bool:
        """Whether the label is a spoken word rather than a marker."""
        return not self.label.startswith(("<", "{"))

    @property
    def is_pause(self) -> bool:
        """Whether the label is a marker of silence or non-speech noise."""
        return self.label.upper() in PAUSE_MARKERS


@dataclass(frozen=True)
class Utterance:
    """Consecutive words of one speaker, from ``start`` to ``stop`` seconds.

    Example
    -------
    >>> Utterance(2.0, 4.5, ("okay", "so")).duration
    2.5
    """

    start: float
    stop: float
    words: tuple[str, ...]

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return self.stop - self.start


def read_words_file(path: str | Path) -> list[Stretch]:
    r"""Read the labelled stretches of a Buckeye ``.words`` file.

    Lines that do not parse (a time that is not a number, no label) are left
    out with a warning, as are stretches whose end precedes their start.

    Raises
    ------
    ValueError
        The file has no header end line ``#``.

    Example
    -------
    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "s0101a.words"
    >>> _ = path.write_text(
    ...     "signal s0101a\nnfields 4\n#\n"
    ...     "    0.50  122 {B_TRANS}; null; null; null\n"
    ...     "    0.90  122 okay; ow k ey; k ey; UH\n"
    ... )
    >>> read_words_file(path)[1]
    Stretch(start=0.5, end=0.9, label='okay')
    """
    lines = Path(path).read_text(encoding="utf-8", errors="replace").splitlines()
    try:
        body = lines[[line.strip() for line in lines].index(HEADER_END) + 1 :]
    except ValueError:
        raise ValueError(
            f"{path}: no header end line '{HEADER_END}'; not a Buckeye .words file"
        ) from None
    stretches, previous_end = [], 0.0
    for number, line in enumerate(body, start=len(lines) - len(body) + 1):
        fields = line.split(maxsplit=2)
        label = fields[2].split(";")[0].strip() if len(fields) == 3 else ""
        try:
            end = float(fields[0]) if fields else float("nan")
        except ValueError:
            end = float("nan")
        if not label or not end >= previous_end:
            if line.strip():
                logger.warning("%s line %d left out: %r", path, number, line)
            continue
        stretches.append(Stretch(previous_end, end, label))
        previous_end = end
    return stretches


def _word_runs(
    stretches: list[Stretch], max_duration: float
) -> tuple[list[Utterance], list[bool]]:
    """Return the runs of consecutive words and whether each may join the last.

    A run may join the previous one when only pauses separate them, or when it
    continues a run that was cut for length.
    """
    runs: list[Utterance] = []
    joinable: list[bool] = []
    words: list[Stretch] = []
    broken = True

    def close() -> None:
        if words:
            runs.append(
                Utterance(words[0].start, words[-1].end, tuple(w.label for w in words))
            )
            words.clear()

    for stretch in stretches:
        if not stretch.is_word:
            close()
            broken = broken or not stretch.is_pause
            continue
        if words and stretch.end - words[0].start > max_duration:
            close()
            broken = False
        if not words:
            joinable.append(not broken)
            broken = False
        words.append(stretch)
    close()
    return runs, joinable


def segment_session(
    stretches: list[Stretch],
    min_duration: float = 2.0,
    max_duration: float = 15.0,
    max_pause: float = 2.0,
) -> list[Utterance]:
    """Cut a session into utterances of ``min_duration`` to ``max_duration`` s.

    See the module docstring for the rule. A run of words longer than
    ``max_duration`` without any pause is cut between two words.

    Arguments
    ---------
    stretches : list of Stretch
        The session, as :func:`read_words_file` returns it.
    min_duration, max_duration : float
        Bounds on an utterance's length in seconds.
    max_pause : float
        Longest pause that may sit inside an utterance.

    Returns
    -------
    list of Utterance

    Example
    -------
    >>> session = [
    ...     Stretch(0.0, 0.5, "{B_TRANS}"),
    ...     Stretch(0.5, 1.0, "yeah"),
    ...     Stretch(1.0, 1.3, "<SIL>"),
    ...     Stretch(1.3, 2.0, "i"),
    ...     Stretch(2.0, 2.9, "know"),
    ...     Stretch(2.9, 5.0, "<IVER>"),
    ...     Stretch(5.0, 6.0, "right"),
    ... ]
    >>> segment_session(session)
    [Utterance(start=0.5, stop=2.9, words=('yeah', 'i', 'know'))]
    """
    runs, joinable = _word_runs(stretches, max_duration)
    utterances: list[Utterance] = []
    current: Utterance | None = None
    for run, may_join in zip(runs, joinable, strict=True):
        if (
            current is not None
            and may_join
            and current.duration < min_duration
            and run.start - current.stop <= max_pause
            and run.stop - current.start <= max_duration
        ):
            current = Utterance(current.start, run.stop, current.words + run.words)
            continue
        if current is not None:
            utterances.append(current)
        current = run
    if current is not None:
        utterances.append(current)
    return [u for u in utterances if min_duration <= u.duration <= max_duration]
