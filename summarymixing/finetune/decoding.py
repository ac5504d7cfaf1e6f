"""CTC decoding of a fine-tuned model: greedy, or SpeechBrain's beam search.

``greedy`` takes the best token per real frame (:func:`summarymixing.mp3s.scoring.ctc.
ctc_greedy_decode`, as the MP3S ASR probe does). ``beam`` runs SpeechBrain's
``CTCBeamSearcher`` (prefix merging, pruning), optionally with a word n-gram
language model the user has: a KenLM ARPA or binary file (``lm_file``),
weighted by ``lm_weight`` (SpeechBrain's ``alpha``) with ``word_bonus`` per
word (``beta``). KenLM's Python bindings come with the ``lm`` extra
(``pip install "summarymixing[lm]"``). The LM's words must be spelt as the
transcripts are (LibriSpeech: upper case).

Why a wrapper: the searcher needs the token strings of our tokenizers (the
CTC blank at id 0, the space character or SentencePiece's word marker as the
word boundary) and log-probabilities with relative lengths; a bad LM file
must fail when the decoder is built, with a message naming the file, not in
the middle of the test set.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from summarymixing.mp3s.scoring.ctc import ctc_greedy_decode
from summarymixing.padding import frame_lengths

METHODS = ("greedy", "beam")


@dataclass(frozen=True)
class DecodingOptions:
    """How to turn CTC outputs into text.

    Attributes
    ----------
    method : str
        ``greedy`` or ``beam``.
    beam_size : int
        Beams kept (``beam`` only).
    lm_file : str or None
        A KenLM ARPA (``.arpa``) or binary file (``beam`` only).
    lm_weight, word_bonus : float
        SpeechBrain's ``alpha`` and ``beta`` (with ``lm_file`` only).
    """

    method: str = "greedy"
    beam_size: int = 100
    lm_file: str | None = None
    lm_weight: float = 0.5
    word_bonus: float = 1.5

    @classmethod
    def from_hparams(cls, hparams: dict) -> DecodingOptions:
        """Read the keys ``decoding``, ``beam_size``, ``lm_file``, ... (optional).

        ``lm_weight`` and ``word_bonus`` too; absent keys take the defaults.

        Example
        -------
        >>> options = DecodingOptions.from_hparams({"decoding": "beam", "beam_size": 8})
        >>> options.method, options.beam_size, options.lm_file
        ('beam', 8, None)
        """
        defaults = cls()
        return cls(
            hparams.get("decoding", defaults.method),
            int(hparams.get("beam_size", defaults.beam_size)),
            hparams.get("lm_file", defaults.lm_file),
            float(hparams.get("lm_weight", defaults.lm_weight)),
            float(hparams.get("word_bonus", defaults.word_bonus)),
        )


class CTCDecoder:
    """Text of CTC logits, by :class:`DecodingOptions`.

    Parameters
    ----------
    tokenizer : CharacterTokenizer or SentencePieceTokenizer
        What the head's outputs mean (blank at id 0).
    options : DecodingOptions
        Greedy or beam, with or without a language model.

    Raises
    ------
    ValueError
        For an unknown method, a beam size below 1, an ``lm_file`` with greedy
        decoding, an LM file that is missing or does not load, or a character
        vocabulary without a space (no word boundary for the LM).
    ImportError
        For an ``lm_file`` without KenLM's bindings installed.

    Example
    -------
    >>> from summarymixing.mp3s.scoring.tokenizers import CharacterTokenizer
    >>> tokenizer = CharacterTokenizer([" ", "A", "B"])
    >>> logits = torch.full((1, 4, 4), -5.0)
    >>> for frame, token in enumerate([2, 0, 1, 3]):  # "A", blank, " ", "B"
    ...     logits[0, frame, token] = 5.0
    >>> padding = torch.zeros(1, 4, dtype=torch.bool)
    >>> CTCDecoder(tokenizer, DecodingOptions("greedy"))(logits, padding)
    ['A B']
    >>> CTCDecoder(tokenizer, DecodingOptions("beam", beam_size=4))(logits, padding)
    ['A B']
    """

    def __init__(self, tokenizer, options: DecodingOptions) -> None:
        self.tokenizer, self.options = tokenizer, options
        if options.method not in METHODS:
            raise ValueError(
                f"decoding {options.method!r}: choose one of {', '.join(METHODS)}"
            )
        if options.method == "greedy":
            if options.lm_file is not None:
                raise ValueError(
                    f"lm_file {options.lm_file} is used by beam search only: add "
                    "--decoding beam"
                )
            self.searcher = None
            return
        if options.beam_size < 1:
            raise ValueError(f"beam_size must be 1 or more, got {options.beam_size}")
        self.searcher = _beam_searcher(tokenizer, options)

    def __call__(self, logits: torch.Tensor, padding: torch.Tensor) -> list[str]:
        """Return one text per utterance of ``(batch, frames, vocab)`` logits."""
        if self.searcher is None:
            blank = self.tokenizer.blank_index
            return [
                self.tokenizer.decode(ids)
                for ids in ctc_greedy_decode(logits, padding, blank)
            ]
        log_probs = torch.log_softmax(logits.float(), dim=-1)
        texts = []
        for row, length in zip(log_probs, frame_lengths(padding).tolist(), strict=True):
            # one utterance, its real frames only: SpeechBrain turns relative
            # lengths back into frames by truncation, which can drop the last
            (best, *_), *_ = self.searcher(row[None, :length])
            texts.append(" ".join(best.text.split()))
        return texts


def vocabulary(tokenizer) -> list[str]:
    """Token strings by id, as SpeechBrain's beam searcher wants them.

    Example
    -------
    >>> from summarymixing.mp3s.scoring.tokenizers import CharacterTokenizer
    >>> vocabulary(CharacterTokenizer([" ", "A"]))
    ['<blank>', ' ', 'A']
    """
    if hasattr(tokenizer, "characters"):
        return ["<blank>", *tokenizer.characters]
    processor = tokenizer.processor
    return [processor.id_to_piece(i) for i in range(processor.get_piece_size())]


def _beam_searcher(tokenizer, options: DecodingOptions):
    from speechbrain.decoders.ctc import CTCBeamSearcher

    vocab = vocabulary(tokenizer)
    is_pieces = not hasattr(tokenizer, "characters")
    if not is_pieces and " " not in vocab:
        raise ValueError(
            "beam search needs a space among the characters (the word boundary); "
            "the training transcripts had none"
        )
    lm_file = None
    if options.lm_file is not None:
        lm_file = str(options.lm_file)
        _check_lm_file(Path(lm_file))
    try:
        return CTCBeamSearcher(
            blank_index=tokenizer.blank_index,
            vocab_list=vocab,
            space_token=" ",
            kenlm_model_path=lm_file,
            alpha=options.lm_weight,
            beta=options.word_bonus,
            beam_size=options.beam_size,
        )
    except ImportError as error:
        raise ImportError(
            f"lm_file {lm_file} needs KenLM's Python bindings: pip install "
            '"summarymixing[lm]" (builds kenlm; needs a C++ compiler and cmake)'
        ) from error
    except (OSError, RuntimeError, ValueError) as error:
        raise ValueError(
            f"language model {lm_file} does not load ({error}); pass a KenLM ARPA "
            "(.arpa) or binary (build_binary) file"
        ) from error


def _check_lm_file(path: Path) -> None:
    if not path.is_file():
        raise ValueError(
            f"language model file {path} does not exist: pass the path of a KenLM "
            "ARPA or binary file, or leave lm_file empty"
        )
