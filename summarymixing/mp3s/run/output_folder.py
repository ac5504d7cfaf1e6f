"""The output folder of one MP3S probe run: its owner, its log, its JSON files.

A probe's output folder holds checkpoints that the next run into it resumes.
:func:`claim_output_folder` records what they belong to (``run.json``) and
refuses a run of another task, probe, encoder, corpus or fold, which would
otherwise resume them silently. :func:`log_to_file` copies the run's log to
the folder. Its JSON files are written with
:func:`~summarymixing.atomic_files.write_json_atomically`, so that they either
exist whole or not at all (``result.json``, whose presence means "finished").
"""

import contextlib
import json
import logging
from collections.abc import Iterator
from pathlib import Path

from speechbrain.utils.distributed import if_main_process

from summarymixing.atomic_files import write_json_atomically

RUN_FILE = "run.json"


def claim_output_folder(output_folder: Path, identity: dict) -> None:
    """Record what the folder's checkpoints belong to; refuse another run.

    Parameters
    ----------
    output_folder : Path
        The run's output folder.
    identity : dict
        JSON values that must not change between runs into the folder.

    Raises
    ------
    ValueError
        The folder holds a run with another identity (the differences are
        listed).

    Example
    -------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> claim_output_folder(folder, {"task": "iemocap", "fold": 1})
    >>> claim_output_folder(folder, {"task": "iemocap", "fold": 1})
    >>> claim_output_folder(folder, {"task": "iemocap", "fold": 2})
    Traceback (most recent call last):
    ...
    ValueError: Output folder ... holds another run (fold: 1 then, 2 now); ...
    """
    path = Path(output_folder) / RUN_FILE
    if not path.is_file():
        if if_main_process():
            write_json_atomically(path, identity)
        return
    previous = json.loads(path.read_text(encoding="utf-8"))
    changed = [
        f"{key}: {previous.get(key)!r} then, {value!r} now"
        for key, value in identity.items()
        if previous.get(key) != value
    ]
    if changed:
        raise ValueError(
            f"Output folder {output_folder} holds another run ({'; '.join(changed)}); "
            "its checkpoints would be resumed. Use another output folder (one per "
            "encoder, task, probe and fold) or delete this one."
        )


@contextlib.contextmanager
def log_to_file(path: Path) -> Iterator[None]:
    """Copy the log records emitted inside the block to ``path`` (appended).

    Levels are the application's: the handler is added to the root logger
    and removed afterwards, so that consecutive runs log to their own files.

    Example
    -------
    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "log.txt"
    >>> with log_to_file(path):
    ...     logging.getLogger("demo").warning("kept")
    >>> logging.getLogger("demo").warning("not kept")
    >>> path.read_text().count("kept")
    1
    """
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(
        logging.Formatter("%(asctime)s - %(name)s - %(levelname)s - %(message)s")
    )
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield
    finally:
        root.removeHandler(handler)
        handler.close()
