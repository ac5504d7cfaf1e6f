"""Experiment tracking: every step-log number reaches TensorBoard (and W&B)."""

import json
import subprocess
from pathlib import Path

import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from test_mp3s_tasks import corpus, probe
from test_pretrain_recipe import recipe_command, write_voiced_audio

from summarymixing.training.step_log import NOT_TRACKED, StepLog
from summarymixing.training.trackers import (
    WandBTracker,
    check_tracker_name,
    make_tracker,
    scalars,
)


def tensorboard_scalars(folder: Path) -> dict[str, list[tuple[int, float]]]:
    (events,) = {path.parent for path in folder.rglob("events.out.tfevents.*")}
    accumulator = EventAccumulator(str(events))
    accumulator.Reload()
    return {
        tag: [(event.step, event.value) for event in accumulator.Scalars(tag)]
        for tag in accumulator.Tags()["scalars"]
    }


def jsonl_records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.mark.slow
def test_pretraining_sends_every_step_log_number_to_tensorboard(tmp_path):
    audio = write_voiced_audio(tmp_path / "audio", count=6)
    output = tmp_path / "run"
    command = recipe_command(audio, output, 6, "--log_interval", "2")
    command += ["--experiment_tracker", "tensorboard"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]

    logged = tensorboard_scalars(output / "tensorboard")
    records = [r for r in jsonl_records(output / "steps.jsonl") if r["kind"] == "step"]
    assert [r["step"] for r in records] == [2, 4, 6]
    for name in ("loss", "accuracy", "perplexity", "codes_used", "temperature"):
        assert name in records[0], name
    for name in ("lr", "grad_norm", "audio_per_second", "contrastive", "diversity"):
        assert name in records[0], name
    for name in ("time", "seconds_per_step", "clean"):  # the clock, in the file
        assert name in records[0], name
    expected = {
        f"{name}/train": [(r["step"], r[name]) for r in records]
        for name in scalars(records[0])
        if name not in ("step", *NOT_TRACKED)
    }
    assert set(expected) <= set(logged)
    assert not {f"{name}/train" for name in NOT_TRACKED} & set(logged)
    for tag, points in expected.items():
        steps = [step for step, _ in logged[tag]]
        values = [value for _, value in logged[tag]]
        assert steps == [step for step, _ in points], tag
        assert values == pytest.approx([value for _, value in points], rel=1e-5)


def test_a_probe_sends_its_epochs_and_tests_to_tensorboard(
    tiny_corpora, export_tiny_encoder, tmp_path
):
    encoder = export_tiny_encoder(tmp_path / "encoder")
    data = corpus(tiny_corpora, "librispeech")
    output = tmp_path / "probe"
    overrides = {"experiment_tracker": "tensorboard", "number_of_epochs": 2}
    result = probe("librispeech", "bilstm", encoder, data, output, **overrides)

    logged = tensorboard_scalars(output / "tensorboard")
    assert [step for step, _ in logged["loss/train"]] == [1, 2]
    assert [step for step, _ in logged["WER/valid"]] == [1, 2]
    assert [step for step, _ in logged["probe_lr/train"]] == [1, 2]
    weights = [tag for tag in logged if tag.startswith("layer_weights_")]
    assert len(weights) == len(result.layer_weights)
    (clean,) = logged["WER/test-clean"]
    assert clean == (2, pytest.approx(result.metrics["WER"], rel=1e-5))


class FakeRun:
    """What wandb.init returns, as far as SpeechBrain's WandBLogger uses it."""

    def __init__(self, **settings):
        self.settings, self.calls, self.finished = settings, [], False

    def log(self, values, step=None):
        self.calls.append((step, values))

    def finish(self):
        self.finished = True


def test_wandb_gets_each_record_at_its_optimizer_step(tmp_path):
    runs = []

    def initializer(**settings):
        runs.append(FakeRun(**settings))
        return runs[-1]

    tracker = WandBTracker(tmp_path / "wandb", "proj", "run-7", initializer)
    log = StepLog(interval=1, tracker=tracker)
    log.record("step", 100, loss=2.5, grad_norm=None, accuracy=0.25)
    log.record("valid", 100, loss=2.75)
    log.record("monitor", 1000, monitor_cer=51.5, monitor_speaker_eer=12.0)
    log.close()

    (run,) = runs
    assert run.settings == {
        "project": "proj",
        "dir": str(tmp_path / "wandb"),
        "name": "run-7",
        "id": "run-7",
        "resume": "allow",
    }
    monitor = {"monitor_cer": 51.5, "monitor_speaker_eer": 12.0}
    assert run.calls == [
        (100, {"train": {"loss": 2.5, "accuracy": 0.25}, "epoch": 100}),
        (100, {"valid": {"loss": 2.75}, "epoch": 100}),
        (1000, {"monitor": monitor, "epoch": 1000}),
    ]
    assert run.finished


def test_a_bad_or_missing_tracker_is_refused_before_work(tmp_path):
    with pytest.raises(ValueError, match="not one of none, tensorboard, wandb"):
        make_tracker({"experiment_tracker": "tb", "output_folder": str(tmp_path)})
    try:
        import wandb  # noqa: F401
    except ImportError:
        with pytest.raises(ValueError, match="pip install wandb"):
            check_tracker_name("wandb")
    else:
        assert check_tracker_name("wandb") == "wandb"
    audio = write_voiced_audio(tmp_path / "audio", count=2)
    command = recipe_command(audio, tmp_path / "run", 2)
    result = subprocess.run(
        [*command, "--experiment_tracker", "tensorbaord"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "experiment_tracker 'tensorbaord' is not one of" in result.stderr
    assert not (tmp_path / "run").exists()
