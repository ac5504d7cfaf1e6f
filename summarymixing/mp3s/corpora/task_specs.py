"""The MP3S tasks, one frozen :class:`TaskSpec` each: the one table every place reads.

What a task *is* (its family, its two probes, how its corpus is prepared,
which manifest column holds its labels, the metric the MP3S table reports,
the synthetic corpus the demo uses, its YAML files) lives here and nowhere
else: :func:`~summarymixing.mp3s.run.tasks.run_probe`, the runners, the
benchmark's plan and the tests read :data:`TASK_SPECS`. Adding a task is one
entry here, one preparer under :mod:`summarymixing.mp3s.corpora`, and one
YAML per probe that ``extends`` its family's base YAML.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from summarymixing.mp3s.corpora import manifests
from summarymixing.mp3s.corpora.manifests import PreparedSplits
from summarymixing.resources import hparams_folder

FAMILIES = ("asr", "speaker", "classification")
"""The task families: each has a base YAML, a Brain and a runner."""

PRIMARY_METRICS = {"asr": "WER", "speaker": "EER", "classification": "accuracy"}
"""Family → the metric the MP3S table reports."""

Preparer = Callable[[Mapping, Path], PreparedSplits]


@dataclass(frozen=True)
class TaskSpec:
    """One MP3S task.

    Attributes
    ----------
    name : str
        The task's name (``librispeech``, ``voxceleb1``, ...).
    family : str
        One of :data:`FAMILIES`.
    probes : tuple of str
        Its two probes, in the MP3S order.
    preparer : callable
        ``preparer(hparams, save_folder)`` prepares the corpus from its real
        layout and returns the manifests by role.
    label_column : str or None
        The manifest column holding the class or speaker labels (None: ASR,
        whose labels are the transcripts, ``wrd``).
    synthetic_corpus : str
        The :func:`summarymixing.data.synthetic.build_corpus` name of the
        corpus the demo synthesises for it.

    Example
    -------
    >>> spec = TASK_SPECS["voxceleb1"]
    >>> spec.family, spec.probes, spec.primary_metric, spec.label_column
    ('speaker', ('xvector', 'ecapa'), 'EER', 'spk_id')
    >>> spec.hparams_file("ecapa").name
    'voxceleb1_ecapa.yaml'
    """

    name: str
    family: str
    probes: tuple[str, ...]
    preparer: Preparer
    label_column: str | None = None
    synthetic_corpus: str = ""

    def __post_init__(self) -> None:
        if self.family not in FAMILIES:
            raise ValueError(f"family {self.family!r}: one of {', '.join(FAMILIES)}")
        if not self.synthetic_corpus:
            object.__setattr__(self, "synthetic_corpus", self.name)

    @property
    def primary_metric(self) -> str:
        """The metric the MP3S table reports for this task."""
        return PRIMARY_METRICS[self.family]

    @property
    def base_yaml(self) -> Path:
        """The family's base YAML, which every probe YAML of the task extends."""
        return hparams_folder() / "mp3s" / f"{self.family}_base.yaml"

    def hparams_file(self, probe: str) -> Path:
        """Return the file of the published hyper-parameters of ``probe``.

        Raises
        ------
        ValueError
            The task has no such probe.
        """
        if probe not in self.probes:
            raise ValueError(
                f"{self.name} has no probe {probe!r}; its probes: "
                f"{', '.join(self.probes)}"
            )
        return hparams_folder() / "mp3s" / f"{self.name}_{probe}.yaml"


TASK_SPECS: dict[str, TaskSpec] = {
    spec.name: spec
    for spec in (
        TaskSpec("librispeech", "asr", ("bilstm", "contextnet"), manifests.librispeech),
        TaskSpec("buckeye", "asr", ("bilstm", "contextnet"), manifests.buckeye),
        TaskSpec("commonvoice-cy", "asr", ("bilstm", "linear"), manifests.commonvoice),
        TaskSpec("commonvoice-eu", "asr", ("bilstm", "linear"), manifests.commonvoice),
        TaskSpec(
            "voxceleb1", "speaker", ("xvector", "ecapa"), manifests.voxceleb, "spk_id"
        ),
        TaskSpec(
            "iemocap", "classification", ("linear", "ecapa"), manifests.iemocap, "emo"
        ),
        TaskSpec(
            "slurp", "classification", ("linear", "bilstm"), manifests.slurp, "scenario"
        ),
    )
}
"""Task name → its :class:`TaskSpec`, in the MP3S order."""


def task_spec(task: str) -> TaskSpec:
    """Return the spec of ``task``, or say which tasks exist.

    Example
    -------
    >>> task_spec("slurp").label_column
    'scenario'
    >>> task_spec("timit")
    Traceback (most recent call last):
    ...
    ValueError: unknown task 'timit'; tasks: librispeech, buckeye, ...
    """
    if task not in TASK_SPECS:
        raise ValueError(f"unknown task {task!r}; tasks: {', '.join(TASK_SPECS)}")
    return TASK_SPECS[task]


def prepare_task(task: str, hparams: Mapping) -> PreparedSplits:
    r"""Prepare (or reuse) ``task``'s manifests in ``hparams["prepared_folder"]``.

    Parameters
    ----------
    task : str
        A key of :data:`TASK_SPECS`.
    hparams : Mapping
        ``data_folder``, ``prepared_folder`` and the preparer's options
        (LibriSpeech: ``train_splits``, ``valid_split``, ``test_splits``; ...).

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
    spec = task_spec(task)
    return spec.preparer(hparams, Path(hparams["prepared_folder"]))
