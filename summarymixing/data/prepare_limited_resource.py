"""Libri-Light's limited-resource fine-tuning sets: 10 min, 1 h and 10 h.

Layout read (``librispeech_finetuning.tgz`` of Libri-Light, extracted)::

    <folder>/1h/<fold>/<clean|other>/<spk>/<chapter>/<spk>-<chapter>-<utt>.flac
    <folder>/1h/<fold>/<clean|other>/<spk>/<chapter>/<spk>-<chapter>.trans.txt
    <folder>/9h/<clean|other>/<spk>/<chapter>/...

with the six folds ``0`` to ``5`` of 10 minutes each. The sets, as wav2vec 2.0
uses them: ``10min`` is fold 0, ``1h`` the six folds, ``10h`` the six folds
and ``9h``; each takes ``clean`` and ``other``. The manifest
``<save_folder>/<set>.csv`` has LibriSpeech's columns (``ID,duration,wav,
spk_id,wrd``); unreadable audio and audio without a transcript line are left
out, logged and listed in its JSON record, as for LibriSpeech.
"""

from __future__ import annotations

import logging
from pathlib import Path

from summarymixing.data.manifest import manifest_is_current, write_manifest
from summarymixing.data.prepare_librispeech import split_rows

logger = logging.getLogger(__name__)

FOLDS = tuple(str(fold) for fold in range(6))
SETS = {
    "10min": ("1h/0",),
    "1h": tuple(f"1h/{fold}" for fold in FOLDS),
    "10h": (*(f"1h/{fold}" for fold in FOLDS), "9h"),
}
"""Set name -> the folders (relative to ``librispeech_finetuning``) it joins."""
PARTS = ("clean", "other")


def set_folders(folder: str | Path, name: str) -> list[Path]:
    """Return the ``clean``/``other`` folders of set ``name``, checked.

    Raises
    ------
    ValueError
        For a name that is not a set.
    FileNotFoundError
        For a missing folder (the message names it and the layout).

    Example
    -------
    >>> import tempfile
    >>> root = Path(tempfile.mkdtemp())
    >>> for part in PARTS:
    ...     (root / "1h" / "0" / part).mkdir(parents=True)
    >>> [p.relative_to(root).as_posix() for p in set_folders(root, "10min")]
    ['1h/0/clean', '1h/0/other']
    >>> set_folders(root, "1h")
    Traceback (most recent call last):
    ...
    FileNotFoundError: Libri-Light limited-resource set '1h' needs .../1h/1/clean...
    """
    if name not in SETS:
        raise ValueError(
            f"{name!r} is not a Libri-Light limited-resource set; choose one of "
            f"{', '.join(SETS)}"
        )
    folder = Path(folder)
    folders = [folder / part_of / part for part_of in SETS[name] for part in PARTS]
    for path in folders:
        if not path.is_dir():
            raise FileNotFoundError(
                f"Libri-Light limited-resource set {name!r} needs {path}, which is "
                "not a folder: pass --limited_resource_folder pointing at the "
                "extracted librispeech_finetuning folder (holding 1h/0..5 and 9h, "
                "each with clean and other)"
            )
    return folders


def prepare_limited_resource(
    folder: str | Path, save_folder: str | Path, name: str
) -> Path:
    """Write ``<save_folder>/<name>.csv`` for one set, reusing a current one.

    Parameters
    ----------
    folder : str or Path
        The ``librispeech_finetuning`` folder.
    save_folder : str or Path
        Where the manifest goes.
    name : str
        ``10min``, ``1h`` or ``10h``.

    Returns
    -------
    Path
        The manifest.

    Example
    -------
    >>> import tempfile, torch
    >>> from summarymixing.data.audio import write_audio
    >>> root = Path(tempfile.mkdtemp())
    >>> for part in PARTS:
    ...     chapter = root / "1h" / "0" / part / "84" / "12"
    ...     write_audio(chapter / f"84-12-{part}.flac", torch.zeros(8000), 16000)
    ...     _ = (chapter / "84-12.trans.txt").write_text(f"84-12-{part} GO")
    >>> manifest = prepare_limited_resource(root, root / "prep", "10min")
    >>> [line.split(",")[0] for line in manifest.read_text().splitlines()]
    ['ID', '84-12-clean', '84-12-other']
    """
    folders = set_folders(folder, name)
    manifest = Path(save_folder) / f"{name}.csv"
    options = {
        "corpus": "librispeech_finetuning",
        "set": name,
        "folder": str(Path(folder).resolve()),
    }
    if manifest_is_current(manifest, options):
        logger.info("Reusing %s (prepared with the same options)", manifest)
        return manifest
    rows, skipped = [], []
    for path in folders:
        part_rows, part_skipped = split_rows(path)
        rows.extend(part_rows)
        skipped.extend(part_skipped)
    return write_manifest(manifest, rows, options, skipped)
