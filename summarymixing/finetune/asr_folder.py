"""The ASR folder: a fine-tuned model exported for use, and ``load_asr``.

``recipes/finetune_ctc.py`` writes, after testing, the checkpoint it tested
to ``<output_folder>/asr``::

    asr.json            format tag, tokenizer file, vocabulary size, the
                        fine-tuning facts (steps, dev metric, source encoder)
    encoder/            an ordinary encoder folder (summarymixing.export) of
                        the fine-tuned front-end and context network, so MP3S
                        and the other export formats take it too
    ctc_head.safetensors  the head's ``weight`` and ``bias``
    tokenizer/          characters.json, or the SentencePiece ``.model``

:func:`load_asr` rebuilds it as a :class:`CTCTranscriber`, whose
``transcribe(paths)`` reads audio files of any rate (resampled to 16 kHz),
batches them by length (from the headers; one batch of audio in memory at a
time) and returns their text, in the order given. Padding
changes nothing: the encoders are padding-exact, so a file transcribed in a
batch gets the text it gets alone.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_model, save_model
from speechbrain.utils.data_utils import batch_pad_right
from torch import nn

from summarymixing.data.audio import load_audio, probe_audio
from summarymixing.export import export_encoder, load_encoder, read_encoder_json
from summarymixing.finetune.ctc_model import CTCFineTuner
from summarymixing.finetune.decoding import CTCDecoder, DecodingOptions
from summarymixing.mp3s.scoring.tokenizers import (
    CharacterTokenizer,
    SentencePieceTokenizer,
)

FORMAT = "summarymixing-ctc-asr"
FORMAT_VERSION = 1
HEAD_FILE = "ctc_head.safetensors"
SAMPLE_RATE = 16000


def export_asr(
    folder: str | Path,
    model: CTCFineTuner,
    tokenizer,
    source_encoder: str | Path,
    facts: dict[str, Any],
) -> Path:
    """Write the ASR folder of a fine-tuned model (see the module docstring).

    Parameters
    ----------
    folder : str or Path
        Where to write; created if needed, files replaced.
    model : CTCFineTuner
        The model as it is (the recipe passes the tested checkpoint).
    tokenizer : CharacterTokenizer or SentencePieceTokenizer
        The head's vocabulary.
    source_encoder : str or Path
        The encoder folder fine-tuning started from (its ``hyperparams.yaml``
        defines the architecture).
    facts : dict
        Stored in ``asr.json`` (steps, dev metric, ...).

    Returns
    -------
    Path
        The folder.
    """
    folder, source = Path(folder), Path(source_encoder)
    folder.mkdir(parents=True, exist_ok=True)
    meta = read_encoder_json(source)
    description = {
        key: value
        for key, value in meta.items()
        if key not in ("format", "format_version")
    }
    description |= {"kind": "pretrained", "fine_tuned": "ctc", "source": str(source)}
    encoder = model.encoder
    export_encoder(
        folder / "encoder",
        source / "hyperparams.yaml",
        {},
        encoder.frontend,
        encoder.encoder_wrapper,
        description,
    )
    save_model(model.head, str(folder / HEAD_FILE), metadata={"format": FORMAT})
    tokenizer_file = _save_tokenizer(tokenizer, folder / "tokenizer")
    record = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "tokenizer": tokenizer_file.relative_to(folder).as_posix(),
        "vocab_size": tokenizer.vocab_size,
        "sample_rate": SAMPLE_RATE,
        **facts,
    }
    (folder / "asr.json").write_text(json.dumps(record, indent=2, default=str) + "\n")
    return folder


def _save_tokenizer(tokenizer, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    if isinstance(tokenizer, CharacterTokenizer):
        path = folder / "characters.json"
        tokenizer.save(path)
        return path
    path = folder / tokenizer.model_path.name
    if tokenizer.model_path.resolve() != path.resolve():
        shutil.copyfile(tokenizer.model_path, path)
    return path


def read_asr_json(folder: str | Path) -> dict[str, Any]:
    """Read and check ``asr.json``; name the fix when it is not an ASR folder.

    Example
    -------
    >>> import tempfile
    >>> read_asr_json(tempfile.mkdtemp())
    Traceback (most recent call last):
    ...
    FileNotFoundError: ... is not a fine-tuned summarymixing ASR model (no asr.json)...
    """
    folder = Path(folder)
    path = folder / "asr.json"
    if not path.is_file():
        hint = "pass the 'asr' folder written at the end of recipes/finetune_ctc.py"
        if (folder / "encoder.json").is_file():
            hint = (
                "it is an encoder folder, which has no ASR head: fine-tune it with "
                "recipes/finetune_ctc.py --encoder_folder " + str(folder)
            )
        raise FileNotFoundError(
            f"{folder} is not a fine-tuned summarymixing ASR model (no asr.json); "
            + hint
        )
    meta = json.loads(path.read_text())
    if meta.get("format") != FORMAT:
        raise ValueError(
            f"{path} describes a {meta.get('format')!r} model, not a {FORMAT!r} one"
        )
    return meta


def load_tokenizer(path: str | Path):
    """Load a character (``.json``) or SentencePiece (``.model``) tokenizer file."""
    path = Path(path)
    if path.suffix == ".model":
        return SentencePieceTokenizer(path)
    return CharacterTokenizer.load(path)


class CTCTranscriber(nn.Module):
    """A fine-tuned CTC model that turns audio into text.

    Parameters
    ----------
    model : CTCFineTuner
        Encoder and head.
    tokenizer : CharacterTokenizer or SentencePieceTokenizer
        The head's vocabulary.
    decoding : DecodingOptions, optional
        Greedy by default.

    Example
    -------
    >>> from summarymixing import ConformerEncoder
    >>> from summarymixing.export import PretrainedEncoder
    >>> from summarymixing.wav2vec2 import FbankConvFrontEnd, W2V2EncoderWrapper
    >>> encoder = PretrainedEncoder(FbankConvFrontEnd(out_channels=16),
    ...     W2V2EncoderWrapper(16, 32, ConformerEncoder(2, 32, 64, 2)), {})
    >>> tokenizer = CharacterTokenizer([" ", "A", "B"])
    >>> asr = CTCTranscriber(CTCFineTuner(encoder, tokenizer.vocab_size), tokenizer)
    >>> texts = asr.transcribe_batch(torch.randn(2, 16000), torch.tensor([1.0, 0.5]))
    >>> len(texts), all(set(text) <= {" ", "A", "B"} for text in texts)
    (2, True)
    """

    def __init__(
        self, model: CTCFineTuner, tokenizer, decoding: DecodingOptions | None = None
    ) -> None:
        super().__init__()
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.decoder = CTCDecoder(tokenizer, decoding or DecodingOptions())

    @property
    def device(self) -> torch.device:
        """Where the weights are."""
        return self.model.head.weight.device

    @torch.no_grad()
    def transcribe_batch(self, wavs: torch.Tensor, wav_lens: torch.Tensor) -> list[str]:
        """Text of a padded batch of 16 kHz signals (relative lengths)."""
        self.model.eval()
        logits, padding = self.model(wavs.to(self.device), wav_lens.to(self.device))
        return self.decoder(logits, padding)

    def transcribe(self, paths: Sequence[str | Path], batch_size: int = 8) -> list[str]:
        """Text of each audio file, in the order given.

        Parameters
        ----------
        paths : sequence of str or Path
            Audio files (any format libsndfile reads, any rate, mono or not).
        batch_size : int
            Files per forward pass (batched by length).

        Returns
        -------
        list of str
            One transcript per file.

        Raises
        ------
        BadAudioError
            A file that is missing, empty or corrupt, named with the reason.
        """
        if batch_size < 1:
            raise ValueError(f"batch_size must be 1 or more, got {batch_size}")
        durations = [probe_audio(path).duration for path in paths]  # headers only
        order = sorted(range(len(paths)), key=lambda i: -durations[i])
        texts: list[str] = [""] * len(paths)
        for start in range(0, len(order), batch_size):  # one batch in memory
            chosen = order[start : start + batch_size]
            signals = [load_audio(paths[i], SAMPLE_RATE) for i in chosen]
            wavs, wav_lens = batch_pad_right(signals)  # zeros, relative lengths
            for index, text in zip(
                chosen, self.transcribe_batch(wavs, wav_lens), strict=True
            ):
                texts[index] = text
        return texts


def load_asr(
    folder: str | Path,
    device: str = "cpu",
    decoding: DecodingOptions | None = None,
) -> CTCTranscriber:
    """Load an ASR folder written by :func:`export_asr`, in eval mode.

    Parameters
    ----------
    folder : str or Path
        ``<output_folder>/asr`` of ``recipes/finetune_ctc.py``.
    device : str
        Where to put the model.
    decoding : DecodingOptions, optional
        Greedy (default) or beam search, with a language model or not.

    Returns
    -------
    CTCTranscriber
        ``load_asr(folder).transcribe(["a.flac", "b.wav"])`` gives the texts.

    Raises
    ------
    FileNotFoundError, ValueError
        Not an ASR folder (an encoder folder is named as such), or weights that
        do not match its description.
    """
    folder = Path(folder)
    meta = read_asr_json(folder)
    tokenizer = load_tokenizer(folder / meta["tokenizer"])
    encoder = load_encoder(folder / "encoder")
    model = CTCFineTuner(encoder, tokenizer.vocab_size)
    head = folder / HEAD_FILE
    try:
        load_model(model.head, str(head), strict=True)
    except RuntimeError as error:
        raise ValueError(
            f"{head} does not match {folder}/asr.json (vocab_size "
            f"{meta['vocab_size']}, model width {model.head.in_features}): {error}"
        ) from error
    return CTCTranscriber(model, tokenizer, decoding).to(device)
