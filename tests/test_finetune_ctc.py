"""recipes/finetune_ctc.py: CTC fine-tuning of an exported encoder, end to end."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from speechbrain.utils.metric_stats import ErrorRateStats
from test_pretrain_recipe import TINY

from summarymixing.data.manifest import read_manifest
from summarymixing.data.synthetic import CORPORA, build_limited_resource
from summarymixing.export import export_fbank_baseline, export_untrained, load_encoder
from summarymixing.finetune import load_asr
from summarymixing.mp3s.run.tasks import read_result

ROOT = Path(__file__).resolve().parents[1]
RECIPE = ROOT / "recipes" / "finetune_ctc.py"
FAST = {
    "max_batch_length": 20,
    "num_buckets": 2,
    "grad_accumulation_factor": 1,
    "num_workers": 0,
    "log_interval": 5,
    "channel_mask_length": 8,
    "encoder_lr": 0.001,
    "head_lr": 0.005,
}


@pytest.fixture(scope="module")
def encoder(tmp_path_factory):
    model = {k: v for k, v in TINY.items() if k not in ("data_layout",)}
    model = {k: json.loads(v) if isinstance(v, str) and v.startswith("[") else v
             for k, v in model.items()}  # fmt: skip
    folder = tmp_path_factory.mktemp("encoder")
    return export_untrained(folder, ROOT / "hparams/w2v2_summarymixing.yaml", model, 0)


def finetune(encoder, data, output, steps, frozen, *extra):
    command = [sys.executable, str(RECIPE), str(ROOT / "hparams/finetune_ctc.yaml")]
    command += ["--encoder_folder", str(encoder), "--data_folder", str(data)]
    command += ["--output_folder", str(output), "--device", "cpu", "--noprogressbar"]
    command += ["--optimizer_step_limit", str(steps)]
    command += ["--freeze_encoder_steps", str(frozen)]
    for key, value in FAST.items():
        command += [f"--{key}", str(value)]
    return subprocess.run(
        [*command, *extra], capture_output=True, text=True, timeout=600
    )


def final_weights(output: Path) -> dict[str, torch.Tensor]:
    (checkpoint,) = (output / "save").glob("CKPT+*")
    return torch.load(checkpoint / "model.ckpt")


def same(first: dict, second: dict, prefix: str) -> bool:
    names = [name for name in second if name.startswith(prefix)]
    assert names
    return all(torch.equal(first[name], second[name]) for name in names)


@pytest.mark.slow
def test_finetuning_learns_keeps_the_frontend_and_scores_every_test_split(
    encoder, tiny_corpora, tmp_path
):
    data = tiny_corpora / CORPORA["librispeech"]
    result = finetune(encoder, data, tmp_path / "run", 40, 10)
    assert result.returncode == 0, result.stderr[-3000:]
    record = json.loads((tmp_path / "run" / "finetune.json").read_text())
    assert set(record["metrics"]) == {"test-clean", "test-other"}
    mp3s = read_result(tmp_path / "run")  # the MP3S results format
    assert (mp3s.probe, mp3s.primary_metric) == ("finetune_ctc", "WER")
    assert mp3s.metrics == {
        "WER": record["metrics"]["test-clean"]["WER"],
        "CER": record["metrics"]["test-clean"]["CER"],
        "WER_test-other": record["metrics"]["test-other"]["WER"],
        "CER_test-other": record["metrics"]["test-other"]["CER"],
    }
    for metrics in record["metrics"].values():
        assert set(metrics) == {"WER", "CER"}
        assert 0 <= metrics["CER"] < 100  # better than writing nothing
    assert "test-clean: WER" in result.stdout
    assert (tmp_path / "run" / "wer_test-clean.txt").is_file()
    steps = [json.loads(line) for line in (tmp_path / "run/steps.jsonl").open()]
    losses = [entry["loss"] for entry in steps if entry["kind"] == "step"]
    assert losses[-1] < losses[0] - 1.0
    original = {
        f"encoder.{name}": value
        for name, value in load_encoder(encoder).state_dict().items()
    }
    trained = final_weights(tmp_path / "run")
    assert same(trained, original, "encoder.frontend.")  # never trained
    assert not same(trained, original, "encoder.encoder_wrapper.")
    # the exported model is the tested checkpoint: same test WER and CER
    rows = read_manifest(tmp_path / "run" / "prepared" / "test-clean.csv")
    texts = load_asr(tmp_path / "run" / "asr").transcribe([r["wav"] for r in rows])
    assert "ASR model:" in result.stdout
    words, characters = ErrorRateStats(), ErrorRateStats(split_tokens=True)
    for stats in (words, characters):
        stats.append([r["ID"] for r in rows], [t.split() for t in texts],
                     [r["wrd"].split() for r in rows])  # fmt: skip
    tested = record["metrics"]["test-clean"]
    assert float(words.summarize("error_rate")) == pytest.approx(tested["WER"])
    assert float(characters.summarize("error_rate")) == pytest.approx(tested["CER"])


ARPA = "\n".join([
    "\\data\\", "ngram 1=4", "ngram 2=2", "", "\\1-grams:",
    "-1.0\t<s>\t-0.3", "-1.0\t</s>", "-0.5\tTHE\t-0.3", "-2.0\t<unk>",
    "", "\\2-grams:", "-0.1\t<s> THE", "-0.1\tTHE </s>", "", "\\end\\", "",
])  # fmt: skip


def bad_training_csv(data: Path, folder: Path) -> Path:
    """One good training file, one empty one."""
    (folder / "empty.flac").write_bytes(b"")
    good = sorted((data / "train-clean-100").rglob("*.flac"))[0]
    lines = [
        "ID,wav,wrd",
        f"mine-0,{good},ANY WORDS",
        f"mine-1,{folder / 'empty.flac'},LOST",
    ]
    (folder / "train.csv").write_text("\n".join(lines) + "\n")
    return folder / "train.csv"


@pytest.mark.slow
def test_limited_resource_sets_csv_splits_bpe_and_a_language_model(
    encoder, tiny_corpora, tmp_path
):
    data = tiny_corpora / CORPORA["librispeech"]
    limited = build_limited_resource(data, tmp_path / "librispeech_finetuning")
    test = sorted((data / "test-clean").rglob("*.flac"))
    lines = ["wav,wrd", f"{test[0]},THE QUIZ", f"{test[1]},THE END"]  # Q, Z unseen
    (tmp_path / "mine.csv").write_text("\n".join(lines) + "\n")
    (tmp_path / "words.arpa").write_text(ARPA)
    train_csv = bad_training_csv(data, tmp_path)
    extra = ["--train_splits", f"[1h, {train_csv}]", "--valid_split", "10min"]
    extra += [
        "--max_bad_audio_fraction",
        "0.5",
        "--limited_resource_folder",
        str(limited),
    ]
    extra += ["--test_splits", f"[{tmp_path / 'mine.csv'}, test-other]"]
    extra += ["--tokenizer", "bpe", "--bpe_vocab_size", "40", "--decoding", "beam"]
    extra += ["--beam_size", "4", "--lm_file", str(tmp_path / "words.arpa")]
    result = finetune(encoder, data, tmp_path / "run", 4, 2, *extra)
    assert result.returncode == 0, result.stderr[-3000:]
    record = json.loads((tmp_path / "run" / "finetune.json").read_text())
    assert set(record["metrics"]) == {str(tmp_path / "mine.csv"), "test-other"}
    assert (tmp_path / "run" / "wer_mine.txt").is_file()
    assert record["decoding"]["method"] == "beam"
    assert record["bad_audio"] == {
        "left_out_at_preparation": 1,
        "skipped_in_training": 0,
    }
    assert "hold characters never seen in training ['Q', 'Z']" in result.stdout
    assert (tmp_path / "run" / "asr" / "tokenizer" / "bpe40.model").is_file()
    one_hour = read_manifest(tmp_path / "run" / "prepared" / "1h.csv")
    assert 0 < len(one_hour) < len(list((data / "train-clean-100").rglob("*.flac")))


@pytest.mark.slow
def test_the_encoder_does_not_move_while_frozen(encoder, tiny_corpora, tmp_path):
    data = tiny_corpora / CORPORA["librispeech"]
    result = finetune(encoder, data, tmp_path / "run", 6, 6)
    assert result.returncode == 0, result.stderr[-3000:]
    original = {
        f"encoder.{name}": value
        for name, value in load_encoder(encoder).state_dict().items()
    }
    trained = final_weights(tmp_path / "run")
    assert same(trained, original, "encoder.")
    assert not torch.equal(trained["head.weight"], torch.zeros(1))


def test_bad_input_is_one_message_before_any_work(encoder, tiny_corpora, tmp_path):
    data = tiny_corpora / CORPORA["librispeech"]
    fbank = export_fbank_baseline(tmp_path / "fbank")
    bad_lm = tmp_path / "bad.arpa"
    bad_lm.write_text("not a language model\n")
    cases = [
        (["--encoder_folder", str(fbank)], "FBANK baseline, which has no encoder"),
        (["--encoder_folder", str(tmp_path)], "is not an exported summarymixing"),
        (["--test_splits", "[test-noisy]"], "test-noisy"),
        (["--experiment_tracker", "tb"], "experiment_tracker 'tb' is not one of"),
        (["--validation_metric", "BLEU"], "validation_metric 'BLEU': choose WER"),
        (["--tokenizer", "words"], "tokenizer 'words': choose one of characters, bpe"),
        (["--train_splits", f"[{tmp_path}/none.csv]"], "none.csv does not exist"),
        (
            ["--train_splits", "[10h]", "--limited_resource_folder", str(tmp_path)],
            "set '10h' needs",
        ),
        (
            ["--decoding", "beam", "--lm_file", str(tmp_path / "lm.arpa")],
            "lm.arpa does not exist",
        ),
        (["--decoding", "beam", "--lm_file", str(bad_lm)], "bad.arpa does not load"),
        (
            ["--train_splits", f"[{bad_training_csv(data, tmp_path)}]"],
            "1 of 2 audio files were left out at preparation",
        ),
    ]
    for extra, message in cases:
        command = [sys.executable, str(RECIPE), str(ROOT / "hparams/finetune_ctc.yaml")]
        command += ["--encoder_folder", str(encoder), "--data_folder", str(data)]
        command += ["--output_folder", str(tmp_path / "out"), *extra]
        result = subprocess.run(command, capture_output=True, text=True, timeout=300)
        assert result.returncode == 2, (extra, result.stderr[-2000:])
        assert message in result.stderr and "Traceback" not in result.stderr, extra


@pytest.mark.slow
def test_two_process_gloo_finetuning_keeps_replicas_identical(
    encoder, tiny_corpora, tmp_path
):
    """DDP through the frozen phase (no encoder graph), layerdrop, accumulation."""
    data = tiny_corpora / CORPORA["librispeech"]
    command = [str(RECIPE), str(ROOT / "hparams/finetune_ctc.yaml")]
    command += ["--encoder_folder", str(encoder), "--data_folder", str(data)]
    command += ["--output_folder", str(tmp_path / "ddp"), "--device", "cpu"]
    command += ["--distributed_backend", "gloo", "--noprogressbar"]
    command += ["--optimizer_step_limit", "8", "--freeze_encoder_steps", "4"]
    command += ["--layerdrop_prob", "0.5", "--max_batch_length", "10"]
    for key, value in FAST.items():
        if key != "max_batch_length":
            command += [f"--{key}", str(value)]
    command += ["--grad_accumulation_factor", "2"]
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
    result = subprocess.run(
        [*torchrun, "--nproc_per_node=2", *command],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    log = (tmp_path / "ddp" / "log.txt").read_text()
    assert "max parameter difference across 2 ranks = 0" in log
    assert read_result(tmp_path / "ddp").metrics.keys() >= {"WER", "CER"}
    assert (tmp_path / "ddp" / "asr" / "asr.json").is_file()


@pytest.mark.slow
def test_a_run_resumed_at_an_epoch_end_repeats_the_uninterrupted_one(
    encoder, tiny_corpora, tmp_path
):
    """Same losses at every step and same weights: batch order, RNG and state."""
    data = tiny_corpora / CORPORA["librispeech"]
    keys = ["--layerdrop_prob", "0.3", "--log_interval", "1"]

    def run(output: Path, epochs: int) -> None:
        result = finetune(encoder, data, output, 1000, 2, *keys,
                          "--number_of_epochs", str(epochs))  # fmt: skip
        assert result.returncode == 0, result.stderr[-3000:]

    run(tmp_path / "straight", 3)
    run(tmp_path / "resumed", 1)
    run(tmp_path / "resumed", 3)

    def losses(output: Path) -> list[tuple[int, float]]:
        entries = map(json.loads, (output / "steps.jsonl").open())
        return [(e["step"], e["loss"]) for e in entries if e["kind"] == "step"]

    straight = losses(tmp_path / "straight")
    assert len(straight) > 10 and straight == losses(tmp_path / "resumed")
    first, second = (
        final_weights(tmp_path / "straight"),
        final_weights(tmp_path / "resumed"),
    )
    assert all(torch.equal(first[name], second[name]) for name in first)
