"""MP3S tasks end to end: every task and probe on the tiny synthetic corpora.

A tiny random encoder (fbank front-end, 2 SummaryMixing Conformer layers of
width 32) is exported as pre-training exports it; every task x probe of the
benchmark then trains one epoch with tiny probe sizes and is evaluated. The
metrics are those of an untrained model: the tests check names, ranges,
files and behaviour, never values.
"""

import json
import logging
import math
import os
import shutil
from pathlib import Path

import pytest
import torch
from hyperpyyaml import load_hyperpyyaml

from summarymixing.data.synthetic import CORPORA
from summarymixing.mp3s.corpora.task_specs import TASK_SPECS
from summarymixing.mp3s.run.tasks import (
    TASKS,
    hparams_file,
    read_result,
    run_probe,
)
from summarymixing.recipes import mp3s_probe
from summarymixing.training.config import load_yaml, merged_overrides

ROOT = Path(__file__).resolve().parents[1]
RUN_OPTS = {"device": "cpu", "noprogressbar": True}
TINY_EMBEDDERS = {
    "ecapa_channels": [8, 8, 16],
    "ecapa_kernel_sizes": [3, 3, 1],
    "ecapa_dilations": [1, 2, 1],
    "ecapa_attention_channels": 4,
    "ecapa_res2net_scale": 2,
    "ecapa_se_channels": 4,
}
TINY = {
    "asr": {
        "lstm_hidden_size": 8,
        "lstm_layers": 1,
        "contextnet_out_channels": 8,
        "contextnet_conv_channels": [8, 8],
        "contextnet_blocks": 2,
        "contextnet_layers": 1,
        "linear_hidden_size": 8,
        "bpe_vocab_size": 40,
    },
    "classification": {
        "lstm_hidden_size": 8,
        "lstm_layers": 1,
        "ecapa_embedding_size": 8,
        **TINY_EMBEDDERS,
    },
    "speaker": {
        "embedding_size": 8,
        "xvector_channels": [8, 16],
        "xvector_kernel_sizes": [3, 1],
        "xvector_dilations": [1, 1],
        **TINY_EMBEDDERS,
    },
}
FAST = {"number_of_epochs": 1, "num_workers": 0, "test_batch_size": 4}
METRIC_RANGES = {
    "WER": (0.0, math.inf),
    "CER": (0.0, math.inf),
    "EER": (0.0, 100.0),
    "minDCF": (0.0, 1.0),
    "accuracy": (0.0, 100.0),
}
EXPECTED_METRICS = {
    "asr": {"WER", "CER"},
    "speaker": {"EER", "minDCF"},
    "classification": {"accuracy"},
}


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Tiny models run fastest on one thread (and 2 threads fight on 2 cores)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def encoder_folder(
    tmp_path_factory: pytest.TempPathFactory, export_tiny_encoder
) -> Path:
    return export_tiny_encoder(tmp_path_factory.mktemp("tiny_encoder"))


def corpus(root: Path, task: str) -> Path:
    return root / CORPORA[TASK_SPECS[task].synthetic_corpus]


def tiny_overrides(task: str, **extra) -> dict:
    return {**FAST, **TINY[TASK_SPECS[task].family], **extra}


def probe(task, probe_name, encoder, data, output, **extra):
    overrides = tiny_overrides(task, **extra)
    return run_probe(task, probe_name, encoder, data, output, overrides, RUN_OPTS)


ALL_PAIRS = [(task, name) for task in TASKS for name in TASKS[task]]


@pytest.mark.parametrize(("task", "probe_name"), ALL_PAIRS)
def test_every_task_and_probe_trains_and_yields_its_metric(
    task, probe_name, tiny_corpora, encoder_folder, tmp_path
):
    output = tmp_path / "run"
    result = probe(task, probe_name, encoder_folder, corpus(tiny_corpora, task), output)

    family = TASK_SPECS[task].family
    assert (result.task, result.probe) == (task, probe_name)
    assert EXPECTED_METRICS[family] <= set(result.metrics)
    assert result.primary_metric in result.metrics
    for name, value in result.metrics.items():
        low, high = METRIC_RANGES[name.split("_")[0]]
        assert math.isfinite(value) and low <= value <= high, (name, value)
    weights = torch.tensor(result.layer_weights)
    assert weights.numel() == 3 and bool((weights > 0).all())
    assert weights.sum().item() == pytest.approx(1.0, abs=1e-6)
    assert (weights.max() - weights.min()).item() > 1e-4  # they were trained

    assert read_result(output) == result
    assert "epoch: 1" in (output / "train_log.txt").read_text()
    assert list((output / "save").glob("CKPT+*"))


def test_librispeech_reports_every_test_split(tiny_corpora, encoder_folder, tmp_path):
    data = corpus(tiny_corpora, "librispeech")
    result = probe("librispeech", "bilstm", encoder_folder, data, tmp_path / "run")
    assert set(result.metrics) == {"WER", "CER", "WER_test-other", "CER_test-other"}
    for split in ("test-clean", "test-other"):
        assert (tmp_path / "run" / f"wer_{split}.txt").is_file()
    assert json.loads((tmp_path / "run" / "tokenizer" / "characters.json").read_text())


def test_asr_probe_can_select_its_checkpoint_by_cer(
    tiny_corpora, encoder_folder, tmp_path
):
    import yaml

    data = corpus(tiny_corpora, "librispeech")
    output = tmp_path / "run"
    probe(
        "librispeech", "bilstm", encoder_folder, data, output, validation_metric="CER"
    )
    (checkpoint,) = (output / "save").glob("CKPT+*")
    meta = yaml.safe_load((checkpoint / "CKPT.yaml").read_text())
    assert meta["validation_error"] == meta["CER"] != meta["WER"]
    with pytest.raises(ValueError, match=r"validation_metric='BLEU'.*\('WER', 'CER'\)"):
        probe(
            "librispeech", "bilstm", encoder_folder, data, tmp_path / "bad",
            validation_metric="BLEU",
        )  # fmt: skip


def test_commonvoice_bpe_tokenizer_is_trained_into_the_output_folder(
    tiny_corpora, encoder_folder, tmp_path
):
    data = corpus(tiny_corpora, "commonvoice-cy")
    probe("commonvoice-cy", "linear", encoder_folder, data, tmp_path / "run")
    assert (tmp_path / "run" / "tokenizer" / "bpe40.model").is_file()


def test_iemocap_fold_selects_the_test_speaker_and_owns_its_folder(
    tiny_corpora, encoder_folder, tmp_path
):
    data, output = corpus(tiny_corpora, "iemocap"), tmp_path / "run"
    probe("iemocap", "linear", encoder_folder, data, output, fold=4)
    test_rows = (output / "prepared" / "test.csv").read_text().splitlines()[1:]
    assert test_rows and {row.split(",")[3] for row in test_rows} == {"Ses02M"}
    with pytest.raises(ValueError, match=r"holds another run \(fold: 4 then, 5 now\)"):
        probe("iemocap", "linear", encoder_folder, data, output, fold=5)


def test_rerun_resumes_from_the_checkpoints(tiny_corpora, encoder_folder, tmp_path):
    data, output = corpus(tiny_corpora, "slurp"), tmp_path / "run"
    probe("slurp", "linear", encoder_folder, data, output)
    result = probe("slurp", "linear", encoder_folder, data, output, number_of_epochs=2)
    log = (output / "train_log.txt").read_text()
    assert log.count("epoch: 1,") == 1 and log.count("epoch: 2,") == 1
    assert read_result(output) == result


def write_config(folder: Path, config: dict) -> Path:
    folder.mkdir(parents=True)
    (folder / "config.json").write_text(json.dumps(config))
    (folder / "preprocessor_config.json").write_text("{}")
    return folder


def other_format(folder: Path, encoder: Path, _) -> Path:
    shutil.copytree(encoder, folder)
    (folder / "encoder.json").write_text(json.dumps({"format": "fairseq-wav2vec2"}))
    return folder


def other_weights(folder: Path, encoder: Path, export_tiny_encoder) -> Path:
    shutil.copytree(encoder, folder)
    wider = export_tiny_encoder(folder.parent / "wider", d_model=48)
    shutil.copy(wider / "model.safetensors", folder / "model.safetensors")
    return folder


def unrelated_files(folder: Path, encoder: Path, _) -> Path:
    folder.mkdir()
    (folder / "model.bin").write_bytes(b"\0" * 16)
    return folder


BAD_ENCODERS = {
    "a Hugging Face text model": (
        lambda folder, *_: write_config(folder, {"model_type": "bert"}),
        "describes a 'bert' model",
    ),
    "another export format": (other_format, "holds a 'fairseq-wav2vec2' model"),
    "weights of another model": (other_weights, "the weights come from another"),
    "no model at all": (unrelated_files, "is not an encoder folder"),
}


@pytest.mark.parametrize("case", BAD_ENCODERS)
def test_encoder_folder_of_another_model_is_named_before_any_work(
    case, tiny_corpora, encoder_folder, export_tiny_encoder, tmp_path
):
    make, message = BAD_ENCODERS[case]
    bad = make(tmp_path / "bad_encoder", encoder_folder, export_tiny_encoder)
    output = tmp_path / "run"
    data = corpus(tiny_corpora, "iemocap")
    with pytest.raises(ValueError, match=message) as error:
        probe("iemocap", "linear", bad, data, output)
    assert str(bad.resolve()) in str(error.value)
    assert not (output / "prepared").exists() and not (output / "run.json").exists()


def librispeech_copy(tiny_corpora: Path, folder: Path, splits: list[str]) -> Path:
    """A LibriSpeech root whose split folders link to the tiny corpus."""
    folder.mkdir()
    for split in splits:
        os.symlink(corpus(tiny_corpora, "librispeech") / split, folder / split)
    return folder


def test_missing_split_is_the_preparers_error(tiny_corpora, encoder_folder, tmp_path):
    splits = ["train-clean-100", "dev-clean", "test-clean"]
    data = librispeech_copy(tiny_corpora, tmp_path / "LibriSpeech", splits)
    with pytest.raises(FileNotFoundError, match="split 'test-other' not found"):
        probe("librispeech", "bilstm", encoder_folder, data, tmp_path / "run")


def test_test_characters_outside_the_tokenizer_are_scored_as_errors(
    tiny_corpora, encoder_folder, tmp_path, caplog
):
    splits = ["train-clean-100", "dev-clean", "test-other"]
    data = librispeech_copy(tiny_corpora, tmp_path / "LibriSpeech", splits)
    shutil.copytree(
        corpus(tiny_corpora, "librispeech") / "test-clean", data / "test-clean"
    )
    transcript = next((data / "test-clean").rglob("*.trans.txt"))
    lines = transcript.read_text().splitlines()
    utterance = lines[0].split()[0]
    transcript.write_text("\n".join([lines[0] + " ØRE", *lines[1:]]) + "\n")

    with caplog.at_level(logging.WARNING, logger="summarymixing.mp3s"):
        result = probe("librispeech", "bilstm", encoder_folder, data, tmp_path / "run")
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    warning = next(text for text in warnings if "test-clean transcripts" in text)
    assert utterance in warning and "'Ø'" in warning
    assert "ØRE" in (tmp_path / "run" / "wer_test-clean.txt").read_text()
    assert math.isfinite(result.metrics["CER"])


def test_training_transcript_outside_a_stale_tokenizer_is_named(
    tiny_corpora, encoder_folder, tmp_path
):
    output = tmp_path / "run"
    (output / "tokenizer").mkdir(parents=True)
    stale = {"type": "characters", "characters": list(" ABCDEFGHIJ")}
    (output / "tokenizer" / "characters.json").write_text(json.dumps(stale))
    data = corpus(tiny_corpora, "buckeye")
    with pytest.raises(
        ValueError,
        match=r"Training transcripts have characters "
        r"outside the tokenizer: s0\d01a_\d+_\d+ \['",
    ):
        probe("buckeye", "bilstm", encoder_folder, data, output)
    assert not (output / "save").exists()


def test_unknown_names_and_override_keys_are_errors(encoder_folder, tmp_path):
    with pytest.raises(ValueError, match="unknown task 'timit'"):
        run_probe("timit", "bilstm", encoder_folder, tmp_path, tmp_path / "run")
    with pytest.raises(ValueError, match="slurp has no probe 'ecapa'"):
        run_probe("slurp", "ecapa", encoder_folder, tmp_path, tmp_path / "run")
    with pytest.raises(ValueError, match="did you mean number_of_epochs"):
        run_probe(
            "slurp",
            "linear",
            encoder_folder,
            tmp_path,
            tmp_path / "run",
            {"number_of_epoch": 1},
        )


PUBLISHED = {  # task: (epochs, batch size, probe lr, layer-weight lr)
    "librispeech": (20, 4, 2e-4, 0.01),
    "buckeye": (20, 4, 2e-4, 0.01),
    "commonvoice-cy": (20, 4, 4e-4, 0.02),
    "commonvoice-eu": (20, 4, 5e-4, 0.025),
    "voxceleb1": (15, 8, 2e-4, 0.01),
    "iemocap": (30, 2, 2e-4, 0.01),
    "slurp": (20, 2, 2e-4, 0.01),
}


@pytest.mark.parametrize(("task", "probe_name"), ALL_PAIRS)
def test_hparams_hold_the_published_defaults(task, probe_name, tmp_path):
    folders = {
        "encoder_folder": "e",
        "data_folder": "d",
        "output_folder": str(tmp_path),
    }
    base, overrides = merged_overrides(hparams_file(task, probe_name), folders)
    hparams = load_hyperpyyaml(base.read_text(), overrides)
    assert (hparams["task"], hparams["probe"]) == (task, probe_name)
    assert probe_name in hparams["probes"]
    epochs, batch, probe_lr, weights_lr = PUBLISHED[task]
    assert (hparams["number_of_epochs"], hparams["batch_size"]) == (epochs, batch)
    assert (hparams["probe_lr"], hparams["weights_lr"]) == (probe_lr, weights_lr)
    assert (hparams["probe_annealing_factor"], hparams["weights_annealing_factor"]) == (
        0.8,
        0.9,
    )
    assert (hparams["seed"], hparams["precision"]) == (1986, "fp32")
    if TASK_SPECS[task].family == "asr":
        bpe = task.startswith("commonvoice")
        assert hparams["tokenizer"] == ("bpe" if bpe else "characters")


def test_recipe_command_line(tiny_corpora, encoder_folder, tmp_path, capsys):
    recipe = mp3s_probe
    yaml_file = str(ROOT / "hparams/mp3s/commonvoice-eu_linear.yaml")
    with pytest.raises(ValueError, match="Missing --data_folder, --output_folder"):
        recipe.main([yaml_file, "--encoder_folder", str(encoder_folder)])

    overrides = tiny_overrides("commonvoice-eu")
    options = [
        text
        for key, value in overrides.items()
        for text in (f"--{key}", json.dumps(value))
    ]
    data = corpus(tiny_corpora, "commonvoice-eu")
    recipe.main(
        [
            yaml_file,
            "--encoder_folder",
            str(encoder_folder),
            "--data_folder",
            str(data),
            "--output_folder",
            str(tmp_path / "run"),
            "--device",
            "cpu",
            "--noprogressbar",
            *options,
        ]
    )
    assert "commonvoice-eu / linear: WER" in capsys.readouterr().out
    assert read_result(tmp_path / "run").probe == "linear"


def test_task_table_and_yaml_files_agree():
    """Every probe YAML belongs to a task of the table and extends its family's."""
    files = {p.name for p in (ROOT / "hparams" / "mp3s").glob("*.yaml")}
    bases = {spec.base_yaml.name for spec in TASK_SPECS.values()}
    listed = {
        spec.hparams_file(probe).name
        for spec in TASK_SPECS.values()
        for probe in spec.probes
    }
    assert files == bases | listed
    for spec in TASK_SPECS.values():
        for probe in spec.probes:
            declared = load_yaml(spec.hparams_file(probe).read_text())
            assert declared["extends"] == spec.base_yaml.name, (spec.name, probe)
            overrides = declared["overrides"]
            assert (overrides["task"], overrides["probe"]) == (spec.name, probe)
