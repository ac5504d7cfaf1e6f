"""MP3S task manifests: each corpus prepared from its real layout.

One function per corpus (LibriSpeech, Buckeye, CommonVoice, VoxCeleb1,
IEMOCAP, SLURP) reads the task's options from its hyper-parameters, runs the
corpus's preparer into a save folder and names the manifests by role:
``train`` (one or more), ``valid`` and ``tests`` (for VoxCeleb1: ``enrol``
and ``test``, scored through the trials). The table that maps each task to
its function is :data:`~summarymixing.mp3s.corpora.task_specs.TASK_SPECS`.
A missing split or file raises the preparer's own message, which names it.
"""

from collections.abc import Mapping, Sequence
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


def librispeech(hparams: Mapping, save_folder: Path) -> PreparedSplits:
    """LibriSpeech: ``train_splits``, ``valid_split`` and ``test_splits`` by name."""
    train, valid, tests = (
        list(hparams["train_splits"]),
        hparams["valid_split"],
        list(hparams["test_splits"]),
    )
    prepared = prepare_librispeech(
        hparams["data_folder"], save_folder, [*train, valid, *tests]
    )
    return PreparedSplits(
        [prepared[split] for split in train],
        prepared[valid],
        {split: prepared[split] for split in tests},
    )


def buckeye(hparams: Mapping, save_folder: Path) -> PreparedSplits:
    """Buckeye: the speakers' standard train / valid / test split."""
    return by_role(prepare_buckeye(hparams["data_folder"], save_folder))


def commonvoice(hparams: Mapping, save_folder: Path) -> PreparedSplits:
    """CommonVoice (one language): clips up to ``max_duration`` seconds."""
    return by_role(
        prepare_commonvoice(
            hparams["data_folder"], save_folder, max_duration=hparams["max_duration"]
        )
    )


def voxceleb(hparams: Mapping, save_folder: Path) -> PreparedSplits:
    """VoxCeleb1: training chunks, a held-out validation part, the trials' files."""
    return by_role(
        prepare_voxceleb(
            hparams["data_folder"],
            save_folder,
            trials_file=hparams["trials_file"],
            chunk_seconds=hparams["chunk_seconds"],
            valid_fraction=hparams["valid_fraction"],
            seed=hparams["seed"],
        )
    )


def iemocap(hparams: Mapping, save_folder: Path) -> PreparedSplits:
    """IEMOCAP: the sessions of fold ``fold``."""
    return by_role(
        prepare_iemocap(hparams["data_folder"], save_folder, fold=hparams["fold"])
    )


def slurp(hparams: Mapping, save_folder: Path) -> PreparedSplits:
    """SLURP: its train / devel / test split."""
    return by_role(prepare_slurp(hparams["data_folder"], save_folder))


def by_role(prepared: Mapping[str, Path]) -> PreparedSplits:
    """Name a preparer's ``{split: manifest}`` by role (VoxCeleb1: enrol, test).

    Example
    -------
    >>> splits = by_role({"train": Path("t.csv"), "valid": Path("v.csv"),
    ...                   "test": Path("e.csv")})
    >>> splits.valid.name, list(splits.tests)
    ('v.csv', ['test'])
    """
    tests = {role: prepared[role] for role in ("enrol", "test") if role in prepared}
    return PreparedSplits([prepared["train"]], prepared["valid"], tests)


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
