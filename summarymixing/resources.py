"""The hyper-parameter files that ship inside the package.

Every YAML file the recipes and the MP3S tasks read (the pre-training variants,
``demo.yaml``, the ``mp3s/<task>_<probe>.yaml`` files) lives in
``summarymixing/hparams`` and is installed with the wheel, so that a
``pip install``-ed package works from any folder. In a clone of the repository
the top-level ``hparams`` folder is a link to the same files, so the commands
of the README (``python recipes/pretrain.py hparams/w2v2_summarymixing.yaml``)
read exactly what an installed package reads.

Located through :mod:`importlib.resources` rather than ``__file__`` arithmetic
on the repository layout, which is what broke installed MP3S runs before.
"""

from importlib.resources import files
from pathlib import Path

HPARAMS_PREFIX = "hparams"


def hparams_folder() -> Path:
    """Return the folder of the shipped hyper-parameter files.

    Example
    -------
    >>> (hparams_folder() / "w2v2_summarymixing.yaml").is_file()
    True
    >>> (hparams_folder() / "mp3s" / "librispeech_bilstm.yaml").is_file()
    True
    """
    # summarymixing is a regular (not zipped) package: its resources are files.
    return Path(str(files("summarymixing") / HPARAMS_PREFIX))


def find_hparams_file(path: str | Path) -> Path:
    """Return ``path`` if it exists, otherwise the shipped file it names.

    Lets an installed package run ``hparams/w2v2_summarymixing.yaml`` (or
    ``w2v2_summarymixing.yaml``, or ``hparams/mp3s/voxceleb1_xvector.yaml``)
    from a folder that has no such file: a relative path that does not exist
    is looked up in :func:`hparams_folder`, with or without its ``hparams/``
    prefix. A file of the user's always wins over a shipped one of that name.

    Parameters
    ----------
    path : str or Path
        What the user typed.

    Returns
    -------
    Path
        ``path`` itself when it exists or when no shipped file matches it (the
        caller's error message then names what was typed).

    Example
    -------
    >>> find_hparams_file("hparams/mp3s/voxceleb1_xvector.yaml").is_file()
    True
    >>> find_hparams_file("w2v2_mhsa.yaml") == hparams_folder() / "w2v2_mhsa.yaml"
    True
    >>> find_hparams_file("no/such.yaml")
    PosixPath('no/such.yaml')
    """
    path = Path(path)
    if path.exists() or path.is_absolute():
        return path
    parts = path.parts
    if parts and parts[0] == HPARAMS_PREFIX:
        parts = parts[1:]
    shipped = hparams_folder().joinpath(*parts) if parts else None
    return shipped if shipped is not None and shipped.is_file() else path
