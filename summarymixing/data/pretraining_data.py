"""Which manifests pre-training reads, for each supported data layout.

The recipe states a layout (``data_layout``) and folders; this module calls the
matching preparer on the main process and returns the manifests, so that the
recipe stays a few lines long and every preparer is reused as it is.
"""

from __future__ import annotations

from pathlib import Path

from summarymixing.data.prepare_folder import prepare_folder
from summarymixing.data.prepare_librilight import prepare_librilight
from summarymixing.data.prepare_librispeech import prepare_librispeech

LAYOUTS = ("librilight", "librilight_cut", "librispeech", "folder")


def prepare_pretraining_manifests(
    data_folder: str | Path,
    data_layout: str,
    prepared_folder: str | Path,
    train_splits: list[str] | None = None,
    valid_folder: str | Path | None = None,
    valid_split: str = "dev-clean",
    min_piece_s: float = 10.0,
    max_piece_s: float = 30.0,
) -> tuple[list[Path], Path | None]:
    """Prepare (or reuse) the training and validation manifests.

    Parameters
    ----------
    data_folder : str or Path
        The training audio.
    data_layout : str
        One of :data:`LAYOUTS`: ``librilight`` (raw recordings, cut here into
        ``min_piece_s``-``max_piece_s`` pieces by our VAD), ``librilight_cut``
        (already cut), ``librispeech`` (``train_splits`` of a LibriSpeech root)
        or ``folder`` (any audio files below ``data_folder``).
    prepared_folder : str or Path
        Where manifests (and cut audio) go; reused on restart.
    train_splits : list of str, optional
        LibriSpeech splits to train on (``librispeech`` layout only).
    valid_folder : str or Path, optional
        A LibriSpeech root whose ``valid_split`` monitors training.
    valid_split : str
        The validation split.
    min_piece_s, max_piece_s : float
        Piece lengths when cutting raw Libri-Light.

    Returns
    -------
    train_manifests : list of Path
        Manifests to train on.
    valid_manifest : Path or None
        Validation manifest, when ``valid_folder`` is given.

    Example
    -------
    >>> prepare_pretraining_manifests("/data", "librivox", "/tmp/p")
    Traceback (most recent call last):
    ...
    ValueError: data_layout='librivox' is unknown; accepted values: ('librilight', 'librilight_cut', 'librispeech', 'folder')
    """  # noqa: E501
    if data_layout not in LAYOUTS:
        raise ValueError(
            f"data_layout={data_layout!r} is unknown; accepted values: {LAYOUTS}"
        )
    data_folder, prepared_folder = Path(data_folder), Path(prepared_folder)
    if not data_folder.is_dir():
        raise FileNotFoundError(
            f"data_folder {data_folder} does not exist; pass --data_folder with the "
            "folder holding your audio (or leave it out to run the demo)"
        )
    if data_layout == "librispeech":
        manifests = prepare_librispeech(
            data_folder, prepared_folder, splits=list(train_splits or [])
        )
        train = list(manifests.values())
    elif data_layout == "folder":
        train = [prepare_folder(data_folder, prepared_folder, manifest_name="train")]
    else:
        layout = "cut" if data_layout == "librilight_cut" else "raw"
        train = [
            prepare_librilight(
                data_folder,
                prepared_folder,
                layout=layout,
                min_piece_s=min_piece_s,
                max_piece_s=max_piece_s,
            )
        ]
    valid = None
    if valid_folder is not None:
        valid = prepare_librispeech(valid_folder, prepared_folder, [valid_split])[
            valid_split
        ]
    return train, valid
