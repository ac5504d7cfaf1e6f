"""CTC tokenizers for the MP3S ASR tasks, with the blank at index 0.

* :class:`CharacterTokenizer` (LibriSpeech, Buckeye): the sorted set of
  characters of the training transcripts, stored as JSON.
* :class:`SentencePieceTokenizer` (CommonVoice): a SentencePiece BPE model
  (100 tokens in MP3S) trained on the training transcripts by
  :func:`train_bpe_tokenizer`; its control id 0 is the CTC blank, id 1 is
  ``<unk>``.

Both raise one ``ValueError`` naming the transcript and listing every
character the tokenizer does not know, instead of silently mapping them to
an unknown token.
"""

import json
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

import sentencepiece as spm

BLANK_INDEX = 0


def _unknown_error(text: str, unknown: list[str], source: str | None) -> ValueError:
    """Build the error raised for characters outside a tokenizer."""
    where = f" ({source})" if source else ""
    return ValueError(
        f"Transcript {text!r}{where} has characters outside the tokenizer: "
        f"{unknown}; normalise the transcripts or rebuild the tokenizer from "
        "training transcripts that contain them"
    )


class CharacterTokenizer:
    """Characters to ids, blank at index 0.

    Parameters
    ----------
    characters : sequence of str
        The distinct characters, in id order (ids start at 1).

    Example
    -------
    >>> tokenizer = CharacterTokenizer.from_transcripts(["AB A", "BA"])
    >>> tokenizer.vocab_size, tokenizer.encode("AB"), tokenizer.decode([0, 3, 2])
    (4, [2, 3], 'BA')
    """

    def __init__(self, characters: Sequence[str]) -> None:
        characters = list(characters)
        if len(set(characters)) != len(characters) or any(
            len(character) != 1 for character in characters
        ):
            raise ValueError(
                f"CharacterTokenizer needs distinct single characters, got {characters}"
            )
        self.characters = characters
        self.ids = {character: index + 1 for index, character in enumerate(characters)}
        self.blank_index = BLANK_INDEX

    @classmethod
    def from_transcripts(cls, transcripts: Iterable[str]) -> "CharacterTokenizer":
        """Build from training transcripts (sorted, hence reproducible).

        Parameters
        ----------
        transcripts : iterable of str
            The training transcripts.

        Returns
        -------
        CharacterTokenizer
            The tokenizer.
        """
        characters: set[str] = set()
        for text in transcripts:
            characters.update(text)
        if not characters:
            raise ValueError("Cannot build a character tokenizer: no transcripts")
        return cls(sorted(characters))

    @property
    def vocab_size(self) -> int:
        """Number of output tokens, blank included."""
        return len(self.characters) + 1

    def unknown_characters(self, text: str) -> list[str]:
        """Characters of ``text`` that have no id, sorted."""
        return sorted(set(text) - self.ids.keys())

    def encode(self, text: str, source: str | None = None) -> list[int]:
        """Ids of the characters of ``text``.

        Parameters
        ----------
        text : str
            A transcript.
        source : str, optional
            Named in the error message (e.g. the utterance id).

        Returns
        -------
        list of int
            One id per character.
        """
        unknown = self.unknown_characters(text)
        if unknown:
            raise _unknown_error(text, unknown, source)
        return [self.ids[character] for character in text]

    def decode(self, ids: Iterable[int]) -> str:
        """Characters of ``ids``, blanks dropped."""
        return "".join(self.characters[i - 1] for i in ids if i != self.blank_index)

    def save(self, path: str | Path) -> None:
        """Write the tokenizer as JSON."""
        payload = {"type": "characters", "characters": self.characters}
        Path(path).write_text(json.dumps(payload, ensure_ascii=False, indent=1) + "\n")

    @classmethod
    def load(cls, path: str | Path) -> "CharacterTokenizer":
        """Read a tokenizer written by :meth:`save`."""
        payload = json.loads(Path(path).read_text())
        if payload.get("type") != "characters":
            raise ValueError(f"{path} is not a character tokenizer file")
        return cls(payload["characters"])


def load_or_build_character_tokenizer(
    path: str | Path, transcripts: Iterable[str]
) -> CharacterTokenizer:
    """Load the tokenizer at ``path``, or build it from transcripts and save it.

    Parameters
    ----------
    path : str or Path
        The JSON file.
    transcripts : iterable of str
        Training transcripts, read only when the file does not exist.

    Returns
    -------
    CharacterTokenizer
        The tokenizer.
    """
    path = Path(path)
    if path.is_file():
        return CharacterTokenizer.load(path)
    tokenizer = CharacterTokenizer.from_transcripts(transcripts)
    path.parent.mkdir(parents=True, exist_ok=True)
    tokenizer.save(path)
    return tokenizer


class SentencePieceTokenizer:
    """A SentencePiece model whose id 0 is the CTC blank.

    Parameters
    ----------
    model_path : str or Path
        A ``.model`` file trained by :func:`train_bpe_tokenizer`.
    """

    def __init__(self, model_path: str | Path) -> None:
        self.model_path = Path(model_path)
        self.processor = spm.SentencePieceProcessor(model_file=str(model_path))
        if self.processor.pad_id() != BLANK_INDEX:
            raise ValueError(
                f"{model_path} does not reserve id 0 for the CTC blank; train it "
                "with summarymixing.mp3s.scoring.tokenizers.train_bpe_tokenizer"
            )
        self.blank_index = BLANK_INDEX

    @property
    def vocab_size(self) -> int:
        """Number of output tokens, blank included."""
        return self.processor.get_piece_size()

    def unknown_characters(self, text: str) -> list[str]:
        """Characters of ``text`` that are not pieces of the model, sorted."""
        unknown_id = self.processor.unk_id()
        return sorted(
            character
            for character in set(text)
            if not character.isspace()
            and self.processor.piece_to_id(character) == unknown_id
        )

    def encode(self, text: str, source: str | None = None) -> list[int]:
        """Piece ids of ``text``; see :meth:`CharacterTokenizer.encode`."""
        unknown = self.unknown_characters(text)
        if unknown:
            raise _unknown_error(text, unknown, source)
        return self.processor.encode(text)

    def decode(self, ids: Iterable[int]) -> str:
        """Text of ``ids``, blanks dropped."""
        return self.processor.decode([i for i in ids if i != self.blank_index])


def train_bpe_tokenizer(
    folder: str | Path,
    transcripts: Iterable[str],
    vocab_size: int = 100,
    character_coverage: float = 1.0,
) -> SentencePieceTokenizer:
    """Train a BPE model on training transcripts, or reuse the one in ``folder``.

    The model is ``<folder>/bpe<vocab_size>.model``; when it exists it is
    loaded and the transcripts are not read. ``vocab_size`` is an upper bound
    (``hard_vocab_limit=False``), so tiny corpora still train; read the actual
    size from :attr:`SentencePieceTokenizer.vocab_size`.

    Parameters
    ----------
    folder : str or Path
        Output folder.
    transcripts : iterable of str
        Training transcripts.
    vocab_size : int
        Number of tokens, blank and ``<unk>`` included.
    character_coverage : float
        Fraction of characters covered by the model (1.0 keeps them all).

    Returns
    -------
    SentencePieceTokenizer
        The tokenizer.

    Example
    -------
    >>> import tempfile
    >>> texts = ["the cat sat on the mat", "a dog ran far away"] * 10
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     tokenizer = train_bpe_tokenizer(folder, texts, vocab_size=40)
    ...     ids = tokenizer.encode("the dog")
    ...     tokenizer.decode(ids), tokenizer.blank_index in ids
    ('the dog', False)
    """
    folder = Path(folder)
    model_path = folder / f"bpe{vocab_size}.model"
    if model_path.is_file():
        return SentencePieceTokenizer(model_path)
    folder.mkdir(parents=True, exist_ok=True)
    lines = [text for text in transcripts if text.strip()]
    if not lines:
        raise ValueError(f"Cannot train the BPE tokenizer in {folder}: no transcripts")
    prefix = folder / f"bpe{vocab_size}.partial"
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(lines),
        model_prefix=str(prefix),
        vocab_size=vocab_size,
        model_type="bpe",
        character_coverage=character_coverage,
        pad_id=BLANK_INDEX,
        pad_piece="<blank>",
        unk_id=1,
        bos_id=-1,
        eos_id=-1,
        hard_vocab_limit=False,
        num_threads=1,
        minloglevel=2,
    )
    os.replace(f"{prefix}.vocab", folder / f"bpe{vocab_size}.vocab")
    os.replace(f"{prefix}.model", model_path)
    return SentencePieceTokenizer(model_path)


TOKENIZERS = ("characters", "bpe")
"""Values of the ``tokenizer`` key of the ASR tasks and of fine-tuning."""


def make_tokenizer(
    kind: str, folder: str | Path, transcripts: Iterable[str], bpe_vocab_size: int = 100
):
    """Load or build the tokenizer ``kind`` in ``folder`` from training transcripts.

    Parameters
    ----------
    kind : str
        ``characters`` (``<folder>/characters.json``) or ``bpe``
        (``<folder>/bpe<bpe_vocab_size>.model``).
    folder : str or Path
        Where the tokenizer file is, or goes.
    transcripts : iterable of str
        Training transcripts, read only when the file does not exist.
    bpe_vocab_size : int
        Upper bound of the BPE vocabulary (``bpe`` only).

    Returns
    -------
    CharacterTokenizer or SentencePieceTokenizer
        The tokenizer.

    Example
    -------
    >>> import tempfile
    >>> make_tokenizer("characters", tempfile.mkdtemp(), ["AB A"]).vocab_size
    4
    >>> make_tokenizer("words", tempfile.mkdtemp(), ["AB"])
    Traceback (most recent call last):
    ...
    ValueError: tokenizer must be 'characters' or 'bpe', got 'words'
    """
    folder = Path(folder)
    if kind == "bpe":
        return train_bpe_tokenizer(folder, transcripts, bpe_vocab_size)
    if kind == "characters":
        return load_or_build_character_tokenizer(
            folder / "characters.json", transcripts
        )
    raise ValueError(f"tokenizer must be 'characters' or 'bpe', got {kind!r}")
