"""The splits of a fine-tuning run, each named the way the user names it.

Every name in ``train_splits``, ``valid_split`` and ``test_splits`` is one of:

* a path ending in ``.csv``: any CSV of transcribed audio (``wav,wrd``,
  :mod:`summarymixing.data.prepare_transcribed_csv`);
* ``10min``, ``1h`` or ``10h``: a Libri-Light limited-resource set, read from
  ``limited_resource_folder`` (default ``<data_folder>/librispeech_finetuning``;
  :mod:`summarymixing.data.prepare_limited_resource`);
* anything else: a LibriSpeech split folder under ``data_folder``
  (``train-clean-100``, ``dev-clean``, ``test-other``, ...).

With no ``data_folder`` (the demo) the small synthetic LibriSpeech is built
next to the output folder, with its limited-resource layout
(:func:`summarymixing.data.synthetic.build_limited_resource`).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from summarymixing.data.prepare_librispeech import prepare_librispeech
from summarymixing.data.prepare_limited_resource import SETS, prepare_limited_resource
from summarymixing.data.prepare_transcribed_csv import prepare_transcribed_csv


def split_names(hparams: Mapping[str, Any]) -> list[str]:
    """Return every split of the run: training, validation, test (no repeats).

    Example
    -------
    >>> split_names({"train_splits": ["1h"], "valid_split": "dev-clean",
    ...              "test_splits": ["dev-clean", "t.csv"]})
    ['1h', 'dev-clean', 't.csv']
    """
    names = [*hparams["train_splits"], hparams["valid_split"], *hparams["test_splits"]]
    return list(dict.fromkeys(str(name) for name in names))


def kind_of(name: str) -> str:
    """``csv``, ``limited_resource`` or ``librispeech``.

    Example
    -------
    >>> [kind_of(n) for n in ("/data/mine.csv", "10min", "test-other")]
    ['csv', 'limited_resource', 'librispeech']
    """
    if name.endswith(".csv"):
        return "csv"
    if name in SETS:
        return "limited_resource"
    return "librispeech"


def split_label(name: str) -> str:
    """Return a split's name for file names: a CSV's stem, else the name itself.

    Example
    -------
    >>> split_label("/data/my test.csv"), split_label("test-other")
    ('my test', 'test-other')
    """
    return Path(name).stem if kind_of(name) == "csv" else name


def prepare_splits(hparams: dict[str, Any]) -> dict[str, Path]:
    """Write the manifest of every split; return split name -> manifest.

    Parameters
    ----------
    hparams : dict
        ``train_splits``, ``valid_split``, ``test_splits``, ``data_folder``
        (``None``: the demo corpus, written into ``hparams`` once built),
        ``limited_resource_folder`` (optional) and ``output_folder``
        (manifests go to ``<output_folder>/prepared``).

    Raises
    ------
    FileNotFoundError
        A split that is not there (the message names it and what is there),
        or LibriSpeech splits without a ``data_folder``.
    ValueError
        A CSV without the ``wav`` and ``wrd`` columns.
    """
    names = split_names(hparams)
    save = Path(hparams["output_folder"]) / "prepared"
    if (
        hparams["data_folder"] is None
        and hparams.get("limited_resource_folder") is None
    ):
        _build_demo_corpus(hparams)
    manifests: dict[str, Path] = {}
    librispeech = [name for name in names if kind_of(name) == "librispeech"]
    if librispeech:
        if hparams["data_folder"] is None:
            raise FileNotFoundError(
                f"splits {', '.join(librispeech)} are LibriSpeech split folders, "
                "but no --data_folder was given: pass the LibriSpeech root, or "
                "name CSV files or limited-resource sets instead"
            )
        manifests |= prepare_librispeech(hparams["data_folder"], save, librispeech)
    for position, name in enumerate(names):
        if kind_of(name) == "csv":  # its own folder: two CSVs may share a name
            folder = save / "csv" / str(position)
            manifests[name] = prepare_transcribed_csv(name, folder)
        elif kind_of(name) == "limited_resource":
            folder = _limited_resource_folder(hparams)
            manifests[name] = prepare_limited_resource(folder, save, name)
    return manifests


def _limited_resource_folder(hparams: Mapping[str, Any]) -> Path:
    folder = hparams.get("limited_resource_folder")
    if folder is not None:
        return Path(folder)
    if hparams["data_folder"] is None:
        raise FileNotFoundError(
            "a Libri-Light limited-resource set needs --limited_resource_folder "
            "(the extracted librispeech_finetuning folder) or --data_folder"
        )
    return Path(hparams["data_folder"]) / "librispeech_finetuning"


def _build_demo_corpus(hparams: dict[str, Any]) -> None:
    from summarymixing.data.synthetic import build_corpus, build_limited_resource

    root = Path(hparams["output_folder"]).parent / "demo_corpus"
    corpus = build_corpus("librispeech", root, size="small")
    build_limited_resource(corpus)
    hparams["data_folder"] = str(corpus)
