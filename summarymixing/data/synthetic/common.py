"""Helpers shared by the corpus builders: stable seeds, unique draws, progress."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable

from tqdm import tqdm


def stable_seed(*parts: object) -> int:
    """Return a 63-bit seed that depends only on ``parts`` (not on the hash seed).

    Every file of a corpus gets its own seed from its name, so that it does not
    depend on the order in which files are made.

    Example
    -------
    >>> stable_seed("librispeech", 0, "19-198-0001")
    67444568991295099
    """
    digest = hashlib.sha256("\x1f".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "little") >> 1


def corpus_rng(corpus: str, seed: int, purpose: str) -> random.Random:
    """Random generator for one planning decision of one corpus build.

    Example
    -------
    >>> corpus_rng("slurp", 0, "sentences").random() == corpus_rng("slurp", 0, "sentences").random()
    True
    """  # noqa: E501
    return random.Random(stable_seed(corpus, seed, purpose))


def draw_unique(
    make: Callable[[random.Random], str],
    count: int,
    rng: random.Random,
    taken: set[str],
    accept: Callable[[str], bool] = lambda _: True,
) -> list[str]:
    """Draw ``count`` new strings with ``make``, none of them in ``taken``.

    ``taken`` is updated, so successive calls (one per split) never share an
    item: this is how held-out splits get sentences unseen in training.

    Example
    -------
    >>> taken = set()
    >>> make = lambda r: str(r.randrange(50))
    >>> first = draw_unique(make, 10, random.Random(0), taken)
    >>> second = draw_unique(make, 10, random.Random(1), taken)
    >>> len(set(first) | set(second))
    20
    """
    drawn: list[str] = []
    attempts = 0
    while len(drawn) < count:
        attempts += 1
        if attempts > 1000 * (count + 1):
            raise RuntimeError(f"could not draw {count} distinct items")
        item = make(rng)
        if item not in taken and accept(item):
            taken.add(item)
            drawn.append(item)
    return drawn


def word_count_between(low: int, high: int) -> Callable[[str], bool]:
    """Predicate: the sentence has between ``low`` and ``high`` words.

    Example
    -------
    >>> word_count_between(2, 3)("a b c"), word_count_between(2, 3)("a b c d")
    (True, False)
    """
    return lambda sentence: low <= len(sentence.split()) <= high


def progress_bar(total: int, corpus: str, enabled: bool) -> tqdm:
    """Return the tqdm bar that a builder advances once per audio file.

    Example
    -------
    >>> bar = progress_bar(3, "slurp", enabled=False)
    >>> _ = bar.update(3)
    >>> bar.total
    3
    >>> bar.close()
    """
    return tqdm(total=total, desc=corpus, unit="file", disable=not enabled, leave=True)
