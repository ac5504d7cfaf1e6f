"""The MP3S tasks and :func:`run_probe`: one probe, one task, one result.

``run_probe(task, probe, encoder_folder, data_folder, output_folder)`` reads
``hparams/mp3s/<task>_<probe>.yaml`` (published hyper-parameters), loads the
encoder folder (ours, or a local Hugging Face wav2vec 2.0), freezes it,
prepares the corpus from its real layout, trains the probe with learned layer
weights, evaluates the best checkpoint and writes ``result.json`` last::

    <output_folder>/
        hyperparams.yaml   the resolved hyper-parameters of this run
        run.json           what the checkpoints belong to (task, probe, folders)
        log.txt            the log of every run into this folder
        prepared/          the corpus manifests (and their JSON records)
        tokenizer/         ASR: characters.json or bpe100.model, from training
        labels.json        classification: class names in index order
        save/              checkpoints (the run resumes from them)
        train_log.txt      per-epoch losses, metrics, learning rates, layer weights
        wer_<test>.txt     ASR: per-utterance alignments of each test set
        result.json        the :class:`ProbeResult`, written atomically, last

Running again into the same folder resumes training from the last
checkpoint (nothing is left to train once every epoch is done) and evaluates
again; a folder holding another task, probe, encoder, data folder or IEMOCAP
fold is refused, so that no checkpoint is resumed by the wrong run.
"""

import json
import logging
from dataclasses import asdict, dataclass
from pathlib import Path

from hyperpyyaml import load_hyperpyyaml, resolve_references
from speechbrain.utils.distributed import if_main_process, run_on_main
from torch import nn

from summarymixing.atomic_files import write_json_atomically
from summarymixing.mp3s.corpora.task_specs import TASK_SPECS, prepare_task, task_spec
from summarymixing.mp3s.run.output_folder import claim_output_folder, log_to_file
from summarymixing.mp3s.run.runners import RUNNERS
from summarymixing.mp3s.upstream.loading import upstream_from_folder
from summarymixing.mp3s.upstream.weighted_layers import WeightedLayerFeatures
from summarymixing.training.config import merged_overrides
from summarymixing.training.trackers import check_tracker_name

logger = logging.getLogger(__name__)

TASKS: dict[str, tuple[str, ...]] = {
    name: spec.probes for name, spec in TASK_SPECS.items()
}
"""Task name → its two probes, as in the MP3S benchmark (a view of
:data:`~summarymixing.mp3s.corpora.task_specs.TASK_SPECS`, where the rest of
what a task is lives)."""

RESULT_FILE = "result.json"
IDENTITY_KEYS = ("task", "probe", "encoder_folder", "data_folder", "fold")


@dataclass
class ProbeResult:
    """The outcome of one task and probe.

    Attributes
    ----------
    task, probe : str
        Which run this is.
    metrics : dict
        Test metrics: ``WER``/``CER`` (percent; LibriSpeech adds
        ``WER_test-other``, ``CER_test-other``), ``EER`` (percent) and
        ``minDCF``, or ``accuracy`` (percent).
    primary_metric : str
        The one the MP3S table reports: ``WER``, ``EER`` or ``accuracy``.
    layer_weights : list of float
        Final softmax weights of the hidden states (sum to one).
    output_folder : Path
        Where everything of the run lies.

    Example
    -------
    >>> result = ProbeResult("slurp", "linear", {"accuracy": 80.5}, "accuracy",
    ...                      [0.5, 0.5], Path("out"))
    >>> result.metrics[result.primary_metric]
    80.5
    """

    task: str
    probe: str
    metrics: dict[str, float]
    primary_metric: str
    layer_weights: list[float]
    output_folder: Path


def hparams_file(task: str, probe: str) -> Path:
    """Return the file of the published hyper-parameters of a task and probe.

    Example
    -------
    >>> hparams_file("librispeech", "bilstm").name
    'librispeech_bilstm.yaml'
    >>> hparams_file("librispeech", "xvector")
    Traceback (most recent call last):
    ...
    ValueError: librispeech has no probe 'xvector'; its probes: bilstm, contextnet
    """
    return task_spec(task).hparams_file(probe)


def read_result(output_folder: str | Path) -> ProbeResult | None:
    """Return the finished result in ``output_folder`` (``result.json``), or None.

    Example
    -------
    >>> import tempfile
    >>> read_result(tempfile.mkdtemp()) is None
    True
    """
    path = Path(output_folder) / RESULT_FILE
    if not path.is_file():
        return None
    try:
        fields = json.loads(path.read_text(encoding="utf-8"))
        fields["output_folder"] = Path(output_folder).resolve()
        return ProbeResult(**fields)
    except (json.JSONDecodeError, TypeError) as error:
        raise ValueError(
            f"{path} is not a result written by run_probe ({error}); delete it "
            "and run the probe again"
        ) from error


def write_result(result: ProbeResult) -> Path:
    """Write ``result.json`` into ``result.output_folder`` (see :func:`read_result`).

    Example
    -------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = write_result(ProbeResult("asr", "ctc", {"WER": 9.5}, "WER", [], folder))
    >>> read_result(folder).metrics
    {'WER': 9.5}
    """
    folder = Path(result.output_folder)
    fields = asdict(result) | {"output_folder": str(folder)}
    return write_json_atomically(folder / RESULT_FILE, fields)


def load_upstream(folder: str | Path) -> nn.Module:
    """Load an encoder folder; any failure becomes an error naming the folder.

    Raises
    ------
    FileNotFoundError, ValueError
        The folder is missing, holds another kind of model, or its files do
        not load.

    Example
    -------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "encoder.json").write_text("not json")
    >>> load_upstream(folder)
    Traceback (most recent call last):
    ...
    ValueError: Cannot load the encoder folder ...: Expecting value: ...
    """
    try:
        return upstream_from_folder(folder)
    except ImportError:
        raise
    except Exception as error:
        if str(folder) in str(error):
            raise
        raise ValueError(
            f"Cannot load the encoder folder {folder}: {error}. Pass the 'encoder' "
            "folder written by recipes/pretrain.py or a local Hugging Face "
            "wav2vec 2.0 folder."
        ) from error


def _load_hparams(
    task: str, probe: str, path: Path, overrides: dict
) -> tuple[dict, Path, dict]:
    """Load the YAML with checked overrides; check it is the task's and probe's."""
    base, merged = merged_overrides(path, overrides)
    with open(base, encoding="utf-8") as stream:
        hparams = load_hyperpyyaml(stream, merged)
    declared = (hparams["task"], hparams["probe"])
    if declared != (task, probe):
        raise ValueError(
            f"{path} describes task {declared[0]!r} with probe {declared[1]!r}, not "
            f"{task!r} with {probe!r}"
        )
    check_tracker_name(hparams.get("experiment_tracker"))
    return hparams, base, merged


def run_probe(
    task: str,
    probe: str,
    encoder_folder: str | Path,
    data_folder: str | Path,
    output_folder: str | Path,
    overrides: dict | None = None,
    run_opts=None,
    hparams_path: str | Path | None = None,
) -> ProbeResult:
    """Train the probe on the frozen encoder, evaluate it, write ``result.json``.

    Parameters
    ----------
    task, probe : str
        A key of :data:`TASKS` and one of its probes.
    encoder_folder : str or Path
        An exported encoder folder (:func:`summarymixing.export.load_encoder`)
        or a local Hugging Face wav2vec 2.0 folder.
    data_folder : str or Path
        The corpus root in its real layout (see :mod:`summarymixing.mp3s.corpora`).
    output_folder : str or Path
        Everything of this run goes there (see the module docstring).
    overrides : dict, optional
        Overrides of the YAML's keys, e.g. ``{"number_of_epochs": 1}`` or
        ``{"fold": 3}``; an unknown key is an error.
    run_opts : dict or RunOptions, optional
        SpeechBrain run options, e.g. ``{"device": "cpu"}``.
    hparams_path : str or Path, optional
        Another YAML than ``hparams/mp3s/<task>_<probe>.yaml``.

    Returns
    -------
    ProbeResult
        Also written to ``<output_folder>/result.json``.

    Raises
    ------
    FileNotFoundError, ValueError
        Bad input, named: an unknown task, probe or override key, an encoder
        folder that does not load, a missing split or file of the corpus, a
        training transcript outside the tokenizer, an output folder of
        another run.
    """
    path = Path(hparams_path) if hparams_path else hparams_file(task, probe)
    output_folder = Path(output_folder).resolve()
    folders = {
        "encoder_folder": str(Path(encoder_folder).resolve()),
        "data_folder": str(Path(data_folder).resolve()),
        "output_folder": str(output_folder),
    }
    hparams, base, merged = _load_hparams(
        task, probe, path, {**(overrides or {}), **folders}
    )
    output_folder.mkdir(parents=True, exist_ok=True)
    if if_main_process():
        (output_folder / RESULT_FILE).unlink(missing_ok=True)
    with log_to_file(output_folder / "log.txt"):
        logger.info(
            "MP3S %s / %s: %s -> %s", task, probe, encoder_folder, output_folder
        )
        with open(base, encoding="utf-8") as stream:
            resolved = resolve_references(stream, merged).getvalue()
        if if_main_process():
            (output_folder / "hyperparams.yaml").write_text(resolved, encoding="utf-8")
        upstream = load_upstream(folders["encoder_folder"])
        features = WeightedLayerFeatures(upstream, layer_norm=hparams["layer_norm"])
        run_on_main(prepare_task, args=[task, hparams])
        splits = prepare_task(task, hparams)
        claim_output_folder(
            output_folder, {key: hparams.get(key) for key in IDENTITY_KEYS}
        )
        spec = task_spec(task)
        metrics, weights = RUNNERS[spec.family](
            spec, hparams, features, splits, run_opts
        )
    result = ProbeResult(
        task=task,
        probe=probe,
        metrics={name: float(value) for name, value in metrics.items()},
        primary_metric=spec.primary_metric,
        layer_weights=weights,
        output_folder=output_folder,
    )
    if if_main_process():
        write_result(result)
    logger.info("MP3S %s / %s: %s", task, probe, result.metrics)
    return result
