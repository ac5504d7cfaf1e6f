"""MP3S datasets: 16 kHz audio plus each task family's targets.

The datasets add to the audio pipeline of
:func:`summarymixing.data.pipeline.make_pretraining_dataset` (``sig``,
``audio_error``, ``start``/``stop`` segments) the targets of each family:

* ASR: ``tokens`` (:func:`add_token_targets`). Every training transcript must
  be covered by the tokenizer, which is built from them. A validation or test
  transcript may hold characters the tokenizer has never seen (a rare letter
  of a CommonVoice test sentence, say). The probe can never emit them, so
  they are left out of that utterance's CTC targets (which only feed the
  logged validation loss) and kept in the reference text, where WER and CER
  count them as errors, as the published MP3S recipes do;
  :func:`check_transcripts` names them and their utterances in the log.
* classification: ``label`` (:func:`add_class_labels`), the index of the
  utterance's class among the sorted training classes.
"""

import functools
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path

import torch
from speechbrain.dataio.dataset import DynamicItemDataset

from summarymixing.data.pipeline import OUTPUT_KEYS, make_pretraining_dataset

logger = logging.getLogger(__name__)

_LISTED = 5


def audio_dataset(
    manifests: Path | Sequence[Path], extra_keys: Sequence[str] = ()
) -> DynamicItemDataset:
    """Dataset of 16 kHz signals (see the module docstring) with extra outputs.

    Parameters
    ----------
    manifests : Path or sequence of Path
        Manifests of one split.
    extra_keys : sequence of str
        Manifest columns or dynamic items to output besides ``id``, ``sig``,
        ``wav`` and ``audio_error``.

    Returns
    -------
    DynamicItemDataset
        The dataset.

    Example
    -------
    >>> import tempfile
    >>> from summarymixing.data.audio import write_audio
    >>> from summarymixing.data.manifest import write_manifest
    >>> root = Path(tempfile.mkdtemp())
    >>> write_audio(root / "a.wav", torch.zeros(8000), 16000)
    >>> row = {"ID": "a", "duration": 0.5, "wav": str(root / "a.wav"), "wrd": "HI"}
    >>> _ = write_manifest(root / "m.csv", [row], options={})
    >>> item = audio_dataset(root / "m.csv", ["wrd"])[0]
    >>> item["sig"].shape, item["wrd"]
    (torch.Size([8000]), 'HI')
    """
    dataset = make_pretraining_dataset(manifests, silence_rms_threshold=None)
    dataset.set_output_keys([*OUTPUT_KEYS, *extra_keys])
    return dataset


class UnreadableAudioError(ValueError):
    """An evaluation file could not be read (evaluation never skips files)."""


def require_readable_audio(batch) -> None:
    """Raise if an item of an evaluation batch could not be read.

    Training skips unreadable files (and counts them); evaluation must not, or
    the metric would silently cover fewer utterances.

    Example
    -------
    >>> from types import SimpleNamespace
    >>> batch = SimpleNamespace(id=["a"], wav=["/a.wav"], audio_error=[""])
    >>> require_readable_audio(batch)
    """
    items = zip(batch.id, batch.wav, batch.audio_error, strict=True)
    bad = [f"{name} ({path}: {reason})" for name, path, reason in items if reason]
    if bad:
        raise UnreadableAudioError(
            f"Cannot evaluate: unreadable audio for {', '.join(bad)}; restore the "
            "file(s), or delete the output folder's 'prepared' folder to prepare "
            "the manifests again without them"
        )


def check_transcripts(tokenizer, rows: Sequence[Mapping], split: str) -> None:
    """Refuse training transcripts the tokenizer cannot encode; log the others.

    Parameters
    ----------
    tokenizer : CharacterTokenizer or SentencePieceTokenizer
        Has ``unknown_characters(text)``.
    rows : sequence of mapping
        Manifest rows with ``ID`` and ``wrd``.
    split : str
        ``"train"`` raises; any other split logs a warning (see the module
        docstring).

    Raises
    ------
    ValueError
        A training transcript holds characters outside the tokenizer (a
        tokenizer file left by a run on other data); names the utterances.

    Example
    -------
    >>> from summarymixing.mp3s.scoring.tokenizers import CharacterTokenizer
    >>> tokenizer = CharacterTokenizer.from_transcripts(["AB A"])
    >>> check_transcripts(tokenizer, [{"ID": "u1", "wrd": "BAA"}], "train")
    >>> check_transcripts(tokenizer, [{"ID": "u2", "wrd": "ABC"}], "train")
    Traceback (most recent call last):
    ...
    ValueError: Training transcripts have characters outside the tokenizer: u2 ['C']; ...
    """  # noqa: E501
    unknown = {}
    for row in rows:
        characters = tokenizer.unknown_characters(row["wrd"])
        if characters:
            unknown[row["ID"]] = characters
    if not unknown:
        return
    listed = "; ".join(
        f"{key} {value}" for key, value in list(unknown.items())[:_LISTED]
    )
    more = f" (and {len(unknown) - _LISTED} more)" if len(unknown) > _LISTED else ""
    if split == "train":
        raise ValueError(
            f"Training transcripts have characters outside the tokenizer: "
            f"{listed}{more}; the tokenizer in the output folder was built from "
            "other transcripts: delete its 'tokenizer' folder (or use a new "
            "output folder) to rebuild it"
        )
    characters = sorted({c for value in unknown.values() for c in value})
    logger.warning(
        "%d %s transcripts hold characters never seen in training %s: %s%s. The "
        "probe cannot emit them: they stay in the references and count as errors.",
        len(unknown),
        split,
        characters,
        listed,
        more,
    )


def add_token_targets(dataset: DynamicItemDataset, tokenizer, strict: bool) -> None:
    """Add ``tokens`` (``LongTensor``) from the ``wrd`` column.

    Parameters
    ----------
    dataset : DynamicItemDataset
        A dataset whose manifest has ``wrd``.
    tokenizer : CharacterTokenizer or SentencePieceTokenizer
        Encodes the transcripts.
    strict : bool
        ``True`` (training): a character outside the tokenizer raises, naming
        the utterance. ``False``: such characters are left out of the targets.

    Example
    -------
    >>> from summarymixing.mp3s.scoring.tokenizers import CharacterTokenizer
    >>> tokenizer = CharacterTokenizer.from_transcripts(["AB"])
    >>> dataset = DynamicItemDataset({"u": {"wrd": "BXA"}})
    >>> add_token_targets(dataset, tokenizer, strict=False)
    >>> dataset.set_output_keys(["tokens"])
    >>> dataset[0]["tokens"]
    tensor([2, 1])
    """
    encode = functools.partial(_tokens, tokenizer, strict)
    dataset.add_dynamic_item(encode, takes=["id", "wrd"], provides="tokens")


def _tokens(tokenizer, strict: bool, utterance_id: str, text: str) -> torch.Tensor:
    """Token ids of a transcript (module level: loader workers can pickle it)."""
    if not strict:
        unknown = set(tokenizer.unknown_characters(text))
        text = "".join(character for character in text if character not in unknown)
    return torch.LongTensor(tokenizer.encode(text, source=utterance_id))


def class_labels(rows: Sequence[Mapping], column: str) -> list[str]:
    """Sorted distinct values of ``column``: the classes, in index order.

    Example
    -------
    >>> class_labels([{"emo": "sad"}, {"emo": "ang"}, {"emo": "sad"}], "emo")
    ['ang', 'sad']
    """
    return sorted({row[column] for row in rows})


def check_labels(
    rows: Sequence[Mapping], column: str, labels: Sequence[str], split: str
) -> None:
    """Raise if a row's class never occurs in training.

    Example
    -------
    >>> check_labels([{"ID": "u", "emo": "fru"}], "emo", ["ang", "sad"], "test")
    Traceback (most recent call last):
    ...
    ValueError: test utterance(s) ['u'] have emo ['fru'], which never occurs in training (['ang', 'sad']); a classifier cannot predict it
    """  # noqa: E501
    known = set(labels)
    unseen = [row for row in rows if row[column] not in known]
    if unseen:
        raise ValueError(
            f"{split} utterance(s) {[row['ID'] for row in unseen[:_LISTED]]} have "
            f"{column} {sorted({row[column] for row in unseen})}, which never "
            f"occurs in training ({list(labels)}); a classifier cannot predict it"
        )


def add_class_labels(
    dataset: DynamicItemDataset, column: str, labels: Sequence[str]
) -> None:
    """Add ``label``: a one-element ``LongTensor`` with the class index.

    Example
    -------
    >>> dataset = DynamicItemDataset({"u": {"emo": "sad"}})
    >>> add_class_labels(dataset, "emo", ["ang", "sad"])
    >>> dataset.set_output_keys(["label"])
    >>> dataset[0]["label"]
    tensor([1])
    """
    index = {label: position for position, label in enumerate(labels)}
    lookup = functools.partial(_label_index, index)
    dataset.add_dynamic_item(lookup, takes=[column], provides="label")


def _label_index(index: Mapping[str, int], label: str) -> torch.Tensor:
    """One-element tensor holding the class index of ``label``."""
    return torch.LongTensor([index[label]])
