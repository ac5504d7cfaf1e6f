"""MP3S task manifests: each corpus prepared from its real layout.

:func:`prepare_task` runs the task's preparer (LibriSpeech, Buckeye,
CommonVoice, VoxCeleb1, IEMOCAP, SLURP) into ``hparams["prepared_folder"]``
and names the manifests by role: ``train`` (one or more), ``valid`` and
``tests`` (for VoxCeleb1: ``enrol`` and ``test``, scored through the trials).
A missing split or file raises the preparer's own message, which names it.
"""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from summarymixing.data.manifest import read_manifest, write_manifest
from summarymixing.data.prepare_librispeech import prepare_librispeech
from summarymixing.mp3s.corpora.buckeye import prepare_buckeye
from summarymixing.mp3s.corpora.commonvoice import prepare_commonvoice
from summarymixing.mp3s.corpora.iemocap import prepare_iemocap
from summarymixing.mp3s.corpora.slurp import prepare_slurp
from summarymixing.mp3s.corpora.voxceleb import prepare_voxceleb


@dataclass(frozen=True)
class PreparedSplits:
    """Manifests of one task by role.

    Example
    -------
    >>> splits = PreparedSplits([Path("train.csv")], Path("dev.csv"))
    >>> splits.tests
    {}
    """

    train: list[Path]
    valid: Path
    tests: dict[str, Path] = field(default_factory=dict)


def _librispeech(hparams: Mapping, save_folder: Path) -> PreparedSplits:
    train, valid, tests = (
        list(hparams["train_splits"]),
        hparams["valid_split"],
        list(hparams["test_splits"]),
    )
    manifests = prepare_librispeech(
        hparams["data_folder"], save_folder, [*train, valid, *tests]
    )
    return PreparedSplits(
        [manifests[split] for split in train],
        manifests[valid],
        {split: manifests[split] for split in tests},
    )


def _buckeye(hparams: Mapping, save_folder: Path) -> dict[str, Path]:
    return prepare_buckeye(hparams["data_folder"], save_folder)


def _commonvoice(hparams: Mapping, save_folder: Path) -> dict[str, Path]:
    return prepare_commonvoice(
        hparams["data_folder"], save_folder, max_duration=hparams["max_duration"]
    )


def _voxceleb(hparams: Mapping, save_folder: Path) -> dict[str, Path]:
    return prepare_voxceleb(
        hparams["data_folder"],
        save_folder,
        trials_file=hparams["trials_file"],
        chunk_seconds=hparams["chunk_seconds"],
        valid_fraction=hparams["valid_fraction"],
        seed=hparams["seed"],
    )


def _iemocap(hparams: Mapping, save_folder: Path) -> dict[str, Path]:
    return prepare_iemocap(hparams["data_folder"], save_folder, fold=hparams["fold"])


def _slurp(hparams: Mapping, save_folder: Path) -> dict[str, Path]:
    return prepare_slurp(hparams["data_folder"], save_folder)


_PREPARERS: dict[str, Callable[[Mapping, Path], PreparedSplits | dict[str, Path]]] = {
    "librispeech": _librispeech,
    "buckeye": _buckeye,
    "commonvoice-cy": _commonvoice,
    "commonvoice-eu": _commonvoice,
    "voxceleb1": _voxceleb,
    "iemocap": _iemocap,
    "slurp": _slurp,
}


def prepare_task(task: str, hparams: Mapping) -> PreparedSplits:
    r"""Prepare (or reuse) the manifests of ``task`` in ``hparams["prepared_folder"]``.

    Parameters
    ----------
    task : str
        A key of :data:`summarymixing.mp3s.run.tasks.TASKS`.
    hparams : mapping
        The task's hyper-parameters (``data_folder``, ``prepared_folder`` and the
        task's data options).

    Returns
    -------
    PreparedSplits
        The manifests by role.

    Example
    -------
    >>> import tempfile, torch
    >>> from summarymixing.data.audio import write_audio
    >>> root = Path(tempfile.mkdtemp())
    >>> for name in ("train", "dev", "test"):
    ...     write_audio(root / "clips" / f"{name}.wav", torch.zeros(16000), 16000)
    ...     _ = (root / f"{name}.tsv").write_text(f"path\tsentence\n{name}.wav\tHi\n")
    >>> hparams = {"data_folder": root, "prepared_folder": root / "prep",
    ...            "max_duration": 10.0}
    >>> splits = prepare_task("commonvoice-cy", hparams)
    >>> splits.valid.name, list(splits.tests)
    ('valid.csv', ['test'])
    """
    if task not in _PREPARERS:
        raise ValueError(f"unknown task {task!r}; tasks: {', '.join(_PREPARERS)}")
    manifests = _PREPARERS[task](hparams, Path(hparams["prepared_folder"]))
    if isinstance(manifests, PreparedSplits):
        return manifests
    tests = {role: manifests[role] for role in ("enrol", "test") if role in manifests}
    return PreparedSplits([manifests["train"]], manifests["valid"], tests)


def merge_manifests(manifests: Sequence[Path], destination: Path) -> Path:
    """Write the rows of several manifests, each ID once, to one manifest.

    The VoxCeleb1 trials name many utterances both as enrolment and as test;
    each is embedded once.

    Example
    -------
    >>> import tempfile
    >>> from summarymixing.data.manifest import write_manifest
    >>> root = Path(tempfile.mkdtemp())
    >>> first = write_manifest(root / "a.csv", [{"ID": "u", "duration": 1, "wav": "/u"}], {})
    >>> rows = [{"ID": "u", "duration": 1, "wav": "/u"}, {"ID": "v", "duration": 2, "wav": "/v"}]
    >>> second = write_manifest(root / "b.csv", rows, {})
    >>> merged = merge_manifests([first, second], root / "both.csv")
    >>> [row["ID"] for row in manifest_rows(merged)]
    ['u', 'v']
    """  # noqa: E501
    rows = {row["ID"]: row for row in manifest_rows(manifests)}
    options = {"merged": [str(manifest) for manifest in manifests]}
    return write_manifest(destination, list(rows.values()), options)


def manifest_rows(manifests: Path | Sequence[Path]) -> list[dict[str, str]]:
    """All rows of one or more manifests (strings, ``ID`` included)."""
    if isinstance(manifests, (str, Path)):
        manifests = [manifests]
    return [row for manifest in manifests for row in read_manifest(manifest)]
