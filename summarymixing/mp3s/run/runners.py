"""Train and evaluate one probe per task family: ASR, classification, speaker.

Each runner reads like a recipe: targets (tokenizer or class labels, checked
on every split before training starts) → datasets → probe → Brain → fit →
evaluate the best checkpoint. It returns the test metrics and the final layer
weights. Sizes the probe needs come from the data and the encoder, never from
the YAML: the feature size from one forward pass of the frozen upstream, the
vocabulary from the tokenizer, the number of classes from the training labels.

What each family's YAML (``hparams/mp3s/*_base.yaml``) provides is listed in
the docstring of its runner.
"""

import json
from collections.abc import Mapping
from pathlib import Path

import speechbrain as sb
import torch
from speechbrain.dataio.dataset import DynamicItemDataset
from speechbrain.utils.distributed import if_main_process, run_on_main

from summarymixing.data.bad_audio import SkipBadAudio
from summarymixing.data.manifest import read_record
from summarymixing.mp3s.brains.asr import ASRProbeBrain
from summarymixing.mp3s.brains.classification import ClassificationProbeBrain
from summarymixing.mp3s.brains.speaker import SpeakerProbeBrain
from summarymixing.mp3s.corpora.datasets import (
    add_class_labels,
    add_token_targets,
    audio_dataset,
    check_labels,
    check_transcripts,
    class_labels,
)
from summarymixing.mp3s.corpora.manifests import (
    PreparedSplits,
    manifest_rows,
    merge_manifests,
)
from summarymixing.mp3s.corpora.task_specs import TaskSpec
from summarymixing.mp3s.corpora.voxceleb import read_trials
from summarymixing.mp3s.scoring.tokenizers import make_tokenizer
from summarymixing.mp3s.upstream.weighted_layers import WeightedLayerFeatures
from summarymixing.training.checkpointer import AtomicCheckpointer

SORTINGS = ("ascending", "descending", "random")

Outcome = tuple[dict[str, float], list[float]]


def probe_input_size(features: WeightedLayerFeatures, sample_rate: int = 16000) -> int:
    """Feature dimension of the upstream, from one second of low-level noise.

    Example
    -------
    >>> from torch import nn
    >>> class Upstream(nn.Module):
    ...     def forward(self, wavs, wav_lens):
    ...         x = wavs[:, ::160].unsqueeze(-1).expand(-1, -1, 6)
    ...         return [x], torch.zeros(x.shape[:2], dtype=torch.bool)
    >>> probe_input_size(WeightedLayerFeatures(Upstream(), num_hidden_states=1))
    6
    """
    noise = 0.01 * torch.randn(
        1, sample_rate, generator=torch.Generator().manual_seed(0)
    )
    device = features.weights.device
    with torch.no_grad():
        output, _ = features(noise.to(device), torch.ones(1, device=device))
    return int(output.shape[-1])


def build_probe(hparams: Mapping, input_size: int, num_outputs: int) -> torch.nn.Module:
    """Call the YAML's ``probes[probe]`` with the derived sizes.

    Example
    -------
    >>> import functools
    >>> from summarymixing.mp3s.probes.ctc_heads import LinearCTCProbe
    >>> linear = functools.partial(LinearCTCProbe, hidden_size=4)
    >>> hparams = {"probe": "linear", "probes": {"linear": linear}}
    >>> build_probe(hparams, 8, 5).output.out_features
    5
    """
    if hparams["probe"] not in hparams["probes"]:
        raise ValueError(
            f"probe {hparams['probe']!r} is not defined under 'probes' in the "
            f"hyper-parameters (defined: {sorted(hparams['probes'])})"
        )
    return hparams["probes"][hparams["probe"]](input_size, num_outputs)


def _checkpointer(hparams: Mapping) -> AtomicCheckpointer:
    return AtomicCheckpointer(
        hparams["save_folder"], recoverables={"epoch_counter": hparams["epoch_counter"]}
    )


def _eval_options(hparams: Mapping, batch_key: str) -> dict:
    return {"batch_size": hparams[batch_key], "num_workers": hparams["num_workers"]}


def _fit(brain: sb.Brain, train: DynamicItemDataset, valid, hparams: Mapping) -> None:
    """Fit with the YAML's batch size, sorting and workers; skip unreadable files."""
    sorting = hparams["sorting"]
    if sorting not in SORTINGS:
        raise ValueError(f"sorting must be one of {SORTINGS}, got {sorting!r}")
    options = {
        "batch_size": hparams["batch_size"],
        "num_workers": hparams["num_workers"],
    }
    if sorting == "random":
        options["shuffle"] = True
    else:
        train = train.filtered_sorted(
            sort_key="duration", reverse=sorting == "descending"
        )
    options["collate_fn"] = SkipBadAudio(train)
    brain.fit(
        hparams["epoch_counter"],
        train,
        valid,
        train_loader_kwargs=options,
        valid_loader_kwargs=_eval_options(hparams, "batch_size"),
    )


def _tokenizer(hparams: Mapping, transcripts: list[str]):
    folder = Path(hparams["output_folder"]) / "tokenizer"
    return make_tokenizer(
        hparams["tokenizer"], folder, transcripts, hparams.get("bpe_vocab_size", 100)
    )


def run_asr(
    spec: TaskSpec,
    hparams: Mapping,
    features: WeightedLayerFeatures,
    splits: PreparedSplits,
    run_opts=None,
) -> Outcome:
    """CTC probe; WER and CER on each test set (the first unsuffixed).

    YAML keys: ``tokenizer`` (``characters`` or ``bpe``), ``bpe_vocab_size``,
    ``probes``/``probe``, the common training keys of
    :class:`~summarymixing.mp3s.brains.base.ProbeBrain`, ``batch_size``,
    ``test_batch_size``, ``sorting``, ``num_workers``.
    """
    train_rows = manifest_rows(splits.train)
    transcripts = [row["wrd"] for row in train_rows]
    run_on_main(_tokenizer, args=[hparams, transcripts])
    tokenizer = _tokenizer(hparams, transcripts)
    evaluated = {"valid": splits.valid, **splits.tests}
    check_transcripts(tokenizer, train_rows, "train")
    for name, manifest in evaluated.items():
        check_transcripts(tokenizer, manifest_rows(manifest), name)
    datasets = {"train": audio_dataset(splits.train, ["wrd", "tokens"])}
    add_token_targets(datasets["train"], tokenizer, strict=True)
    for name, manifest in evaluated.items():
        datasets[name] = audio_dataset(manifest, ["wrd", "tokens"])
        add_token_targets(datasets[name], tokenizer, strict=False)

    probe = build_probe(hparams, probe_input_size(features), tokenizer.vocab_size)
    brain = ASRProbeBrain(
        features, probe, tokenizer, hparams, run_opts, _checkpointer(hparams)
    )
    _fit(brain, datasets["train"], datasets["valid"], hparams)
    metrics = {}
    for index, name in enumerate(splits.tests):
        scores = brain.evaluate_split(
            name, datasets[name], _eval_options(hparams, "test_batch_size")
        )
        suffix = f"_{name}" if index else ""
        metrics.update({f"{key}{suffix}": value for key, value in scores.items()})
    brain.close_tracker()
    return metrics, brain.layer_weights()


def _labelled_datasets(
    spec: TaskSpec, hparams: Mapping, manifests: Mapping[str, Path]
) -> tuple[list[str], dict[str, DynamicItemDataset]]:
    """Class labels from training, checked on the other splits; datasets."""
    column = spec.label_column
    labels = class_labels(manifest_rows(manifests["train"]), column)
    for name, manifest in manifests.items():
        check_labels(manifest_rows(manifest), column, labels, name)
    if if_main_process():
        path = Path(hparams["output_folder"]) / "labels.json"
        path.write_text(json.dumps(labels, ensure_ascii=False, indent=1) + "\n")
    datasets = {}
    for name, manifest in manifests.items():
        datasets[name] = audio_dataset(manifest, ["label"])
        add_class_labels(datasets[name], column, labels)
    return labels, datasets


def run_classification(
    spec: TaskSpec,
    hparams: Mapping,
    features: WeightedLayerFeatures,
    splits: PreparedSplits,
    run_opts=None,
) -> Outcome:
    """Utterance classifier (IEMOCAP emotions, SLURP scenarios); test accuracy.

    YAML keys: ``loss``, ``probes``/``probe`` and the training keys of
    :func:`run_asr`.
    """
    manifests = {"train": splits.train, "valid": splits.valid, **splits.tests}
    labels, datasets = _labelled_datasets(spec, hparams, manifests)
    probe = build_probe(hparams, probe_input_size(features), len(labels))
    brain = ClassificationProbeBrain(
        features, probe, hparams, run_opts, _checkpointer(hparams)
    )
    _fit(brain, datasets["train"], datasets["valid"], hparams)
    metrics = brain.evaluate_split(
        "test", datasets["test"], _eval_options(hparams, "test_batch_size")
    )
    brain.close_tracker()
    return metrics, brain.layer_weights()


def run_speaker(
    spec: TaskSpec,
    hparams: Mapping,
    features: WeightedLayerFeatures,
    splits: PreparedSplits,
    run_opts=None,
) -> Outcome:
    """Speaker embedder trained with AAM-softmax; EER and minDCF on the trials.

    YAML keys: as :func:`run_classification` (``loss`` an ``AAMSoftmaxLoss``).
    The trials file is the one the VoxCeleb1 preparer read (its manifest
    record names it).
    """
    options = read_record(splits.tests["test"])["options"]
    trials = read_trials(options["trials_file"], options["wav_folder"])
    verification = Path(hparams["prepared_folder"]) / "verification.csv"
    run_on_main(merge_manifests, args=[list(splits.tests.values()), verification])
    manifests = {"train": splits.train, "valid": splits.valid}
    labels, datasets = _labelled_datasets(spec, hparams, manifests)
    probe = build_probe(hparams, probe_input_size(features), len(labels))
    brain = SpeakerProbeBrain(
        features, probe, trials, hparams, run_opts, _checkpointer(hparams)
    )
    _fit(brain, datasets["train"], datasets["valid"], hparams)
    metrics = brain.evaluate_split(
        "verification",
        audio_dataset(verification),
        _eval_options(hparams, "test_batch_size"),
    )
    brain.close_tracker()
    return metrics, brain.layer_weights()


RUNNERS = {"asr": run_asr, "classification": run_classification, "speaker": run_speaker}
"""Task family (:attr:`TaskSpec.family`) → its runner."""
