"""The MP3S benchmark runner: plan, skip what finished, record failures, report.

Most runs go through a fake ``run_probe`` (instant, deterministic metrics) so
that these tests check the runner itself; the last test runs the real
``run_probe`` for one epoch on tiny synthetic SLURP next to a broken IEMOCAP
folder, end to end through the command.
"""

import csv
import json
import shutil
from pathlib import Path

import pytest
import torch

from summarymixing.data.synthetic import build_corpus
from summarymixing.export import read_encoder_json
from summarymixing.mp3s.benchmark import runner as benchmark
from summarymixing.mp3s.benchmark.plan import DEMO_OVERRIDES
from summarymixing.mp3s.benchmark.runner import (
    check_encoders,
    default_encoder_names,
    plan_benchmark,
    run_benchmark,
)
from summarymixing.mp3s.run import tasks as mp3s_tasks
from summarymixing.mp3s.run.tasks import TASKS, ProbeResult
from summarymixing.recipes import mp3s_benchmark

ROOT = Path(__file__).resolve().parents[1]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
ASR_TASKS = ("librispeech", "buckeye", "commonvoice-cy", "commonvoice-eu")


class FakeProbes:
    """``run_probe`` / ``read_result`` with metrics set by the encoder folder."""

    def __init__(self, offsets: dict[str, float], failing_tasks: tuple = ()):
        self.offsets = offsets
        self.failing_tasks = set(failing_tasks)
        self.calls: list[tuple[str, str, str]] = []
        self.overrides: dict[str, dict] = {}

    def run_probe(
        self,
        task,
        probe,
        encoder_folder,
        data_folder,
        output_folder,
        overrides=None,
        run_opts=None,
    ):
        name = default_encoder_names([encoder_folder])[0]  # sm/encoder -> sm
        self.calls.append((name, task, probe))
        self.overrides[task], self.run_opts = overrides, run_opts
        if task in self.failing_tasks:
            raise FileNotFoundError(f"{data_folder}/test.tsv: split 'test' missing")
        offset = self.offsets[name]
        if task in ASR_TASKS:
            metrics, primary = {"WER": 20.0 + offset, "CER": 8.0 + offset}, "WER"
        elif task == "voxceleb1":
            metrics, primary = {"EER": 5.0 + offset, "minDCF": 0.3}, "EER"
        else:
            metrics, primary = {"accuracy": 70.0 - offset}, "accuracy"
        logits = torch.arange(4.0) * (1 + offset)
        weights = torch.softmax(logits, 0).tolist()
        Path(output_folder).mkdir(parents=True, exist_ok=True)
        stored = {"metrics": metrics, "primary": primary, "weights": weights}
        (Path(output_folder) / "fake.json").write_text(json.dumps(stored))
        return ProbeResult(task, probe, metrics, primary, weights, Path(output_folder))

    def read_result(self, output_folder):
        path = Path(output_folder) / "fake.json"
        if not path.is_file():
            return None
        stored = json.loads(path.read_text())
        task, probe = Path(output_folder).parts[-2:]
        return ProbeResult(
            task,
            probe,
            stored["metrics"],
            stored["primary"],
            stored["weights"],
            Path(output_folder),
        )


@pytest.fixture
def encoders(tmp_path: Path) -> dict[str, Path]:
    folders = {"sm": tmp_path / "sm", "mhsa": tmp_path / "mhsa"}
    for folder in folders.values():
        folder.mkdir()
    return folders


def install(monkeypatch, fake: FakeProbes) -> FakeProbes:
    monkeypatch.setattr(benchmark.mp3s_tasks, "run_probe", fake.run_probe)
    monkeypatch.setattr(benchmark.mp3s_tasks, "read_result", fake.read_result)
    monkeypatch.setattr(benchmark, "build_corpus", lambda *args, **kwargs: None)
    return fake


def read_csv(path: Path) -> list[dict]:
    with path.open() as stream:
        return list(csv.DictReader(stream))


def test_demo_plan_runs_every_task_and_probe_on_synthetic_corpora(tmp_path, encoders):
    plan = plan_benchmark({"sm": encoders["sm"]}, tmp_path / "out")
    assert plan.synthetic_size == "tiny"
    assert plan.overrides == {task: DEMO_OVERRIDES for task in TASKS}
    assert [(run.task, run.probe) for run in plan.runs] == [
        (task, probe) for task, probes in TASKS.items() for probe in probes
    ]
    for run in plan.runs:
        assert run.data_folder.is_relative_to(tmp_path / "out" / "synthetic")
        assert run.output_folder == tmp_path / "out" / "sm" / run.task / run.probe


def test_plan_selects_tasks_and_probes(tmp_path, encoders):
    plan = plan_benchmark(encoders, tmp_path, "slurp,voxceleb1", "first")
    assert [(r.encoder, r.task, r.probe) for r in plan.runs] == [
        ("sm", "slurp", TASKS["slurp"][0]),
        ("mhsa", "slurp", TASKS["slurp"][0]),
        ("sm", "voxceleb1", TASKS["voxceleb1"][0]),
        ("mhsa", "voxceleb1", TASKS["voxceleb1"][0]),
    ]
    probe = TASKS["voxceleb1"][1]
    plan = plan_benchmark({"sm": encoders["sm"]}, tmp_path, "all", probe)
    assert {r.probe for r in plan.runs} == {probe}
    assert all(probe in TASKS[r.task] for r in plan.runs)
    assert plan.notes and all(
        note.split(":")[0] not in {r.task for r in plan.runs} for note in plan.notes
    )


def test_bad_choices_are_named_before_anything_runs(tmp_path, encoders):
    one = {"sm": encoders["sm"]}
    with pytest.raises(ValueError, match=r"unknown task 'timit'; valid: all, "):
        plan_benchmark(one, tmp_path, "librispeech,timit")
    with pytest.raises(ValueError, match=r"unknown probe .*'transformer'.* first"):
        plan_benchmark(one, tmp_path, "all", "transformer")
    with pytest.raises(FileNotFoundError, match="encoder folder .*nowhere"):
        plan_benchmark({"x": tmp_path / "nowhere"}, tmp_path)
    with pytest.raises(ValueError, match="encoder name 'a/b'"):
        plan_benchmark({"a/b": encoders["sm"]}, tmp_path)
    with pytest.raises(ValueError, match="'timit' in the data folders; valid: .*slurp"):
        plan_benchmark(one, tmp_path, data_folders={"timit": tmp_path})
    with pytest.raises(FileNotFoundError, match="data folder for slurp .*missing"):
        plan_benchmark(one, tmp_path, data_folders={"slurp": tmp_path / "missing"})
    with pytest.raises(ValueError, match="unknown synthetic size 'huge'"):
        plan_benchmark(one, tmp_path, synthetic_size="huge")


def test_baselines_are_columns_after_the_encoders(tmp_path, encoders):
    plan = plan_benchmark(
        encoders, tmp_path / "out", "slurp", "first", baselines=["fbank"]
    )
    assert list(plan.encoders) == ["sm", "mhsa", "fbank"]
    assert plan.encoders["fbank"] == tmp_path / "out" / "baselines" / "fbank"
    assert [run.encoder for run in plan.runs] == ["sm", "mhsa", "fbank"]
    assert (
        plan.runs[-1].output_folder
        == tmp_path / "out" / "fbank" / "slurp" / (TASKS["slurp"][0])
    )
    with pytest.raises(ValueError, match="encoder name 'fbank' is the name of the"):
        plan_benchmark({"fbank": encoders["sm"]}, tmp_path, baselines=["fbank"])


def test_default_names_skip_the_export_folder_and_the_seed():
    assert default_encoder_names(
        ["r/w2v2_sm/1986/encoder", "r/w2v2_mhsa/1986/encoder"]
    ) == ["w2v2_sm", "w2v2_mhsa"]


def test_runs_report_side_by_side_and_are_reused(monkeypatch, tmp_path, encoders):
    fake = install(monkeypatch, FakeProbes({"sm": 0.0, "mhsa": 1.5}))
    data = {"librispeech": tmp_path, "voxceleb1": tmp_path, "slurp": tmp_path}
    out = tmp_path / "out"
    overrides = {"number_of_epochs": 1, "slurp:lr": 0.5}
    plan = plan_benchmark(
        encoders, out, "librispeech,voxceleb1,slurp", "all", data, "tiny", overrides
    )
    lines = []
    outcomes = run_benchmark(plan, {"device": "cpu"}, log=lines.append)
    assert [o.status for o in outcomes] == ["done"] * 12 and len(fake.calls) == 12
    assert fake.overrides == {
        "librispeech": {"number_of_epochs": 1},
        "voxceleb1": {"number_of_epochs": 1},
        "slurp": {"number_of_epochs": 1, "lr": 0.5},
    }
    assert fake.run_opts == {"device": "cpu"}
    assert len(lines) == 24 and lines[-1].startswith("[12/12] mhsa slurp/")

    rows = read_csv(out / "results.csv")
    assert list(rows[0]) == [
        "encoder",
        "task",
        "probe",
        "metric",
        "value",
        "status",
        "error",
    ]
    wer = [r for r in rows if r["task"] == "librispeech" and r["metric"] == "WER"]
    assert [(r["encoder"], float(r["value"])) for r in wer[:2]] == [
        ("sm", 20.0),
        ("mhsa", 21.5),
    ]
    markdown = (out / "results.md").read_text()
    probe = TASKS["librispeech"][0]
    assert "| task | probe | metric | sm | mhsa |" in markdown
    assert (
        f"| librispeech | {probe} | WER (%, lower is better) | **20.00** | 21.50 |"
        in markdown
    )
    slurp = TASKS["slurp"][0]
    assert (
        f"| slurp | {slurp} | accuracy (%, higher is better) | **70.00** | 68.50 |"
        in markdown
    )
    assert (
        f"| voxceleb1 | {TASKS['voxceleb1'][0]} | minDCF (lower is better) |"
        in markdown.split("## Other metrics")[1]
    )
    for task in data:
        png = out / "layer_weights" / f"{task}.png"
        assert png.read_bytes()[:8] == PNG_SIGNATURE
        assert f"![{task}](layer_weights/{task}.png)" in markdown

    shutil.rmtree(out / "layer_weights")
    again = run_benchmark(plan, log=lines.append)
    assert len(fake.calls) == 12 and {o.status for o in again} == {"reused"}
    assert read_csv(out / "results.csv") == [dict(r, status="reused") for r in rows]
    assert all((out / "layer_weights" / f"{task}.png").is_file() for task in data)


def test_a_failing_task_is_recorded_and_the_others_go_on(
    monkeypatch, tmp_path, encoders
):
    fake = install(monkeypatch, FakeProbes({"sm": 0.0}, failing_tasks=("slurp",)))
    out = tmp_path / "out"
    data = {"slurp": tmp_path, "iemocap": tmp_path}
    plan = plan_benchmark({"sm": encoders["sm"]}, out, "slurp,iemocap", "all", data)
    outcomes = run_benchmark(plan, log=lambda line: None)
    assert [o.status for o in outcomes] == ["failed", "failed", "done", "done"]
    assert (
        outcomes[0].error.startswith("FileNotFoundError: ")
        and "split 'test' missing" in outcomes[0].error
    )
    assert (
        "FileNotFoundError"
        in (outcomes[0].run.output_folder / "failure.log").read_text()
    )
    failures = (out / "results.md").read_text().split("## Failures")[1]
    assert f"- `sm` slurp / {TASKS['slurp'][0]}: FileNotFoundError: " in failures
    failed_rows = [r for r in read_csv(out / "results.csv") if r["status"] == "failed"]
    assert len(failed_rows) == 2 and "split 'test' missing" in failed_rows[0]["error"]

    fake.failing_tasks.clear()
    outcomes = run_benchmark(plan, log=lambda line: None)
    assert [o.status for o in outcomes] == ["done", "done", "reused", "reused"]
    assert len(fake.calls) == 6
    assert not (outcomes[0].run.output_folder / "failure.log").exists()
    assert "## Failures" not in (out / "results.md").read_text()


def test_a_result_is_not_reused_for_other_overrides(monkeypatch, tmp_path, encoders):
    fake = install(monkeypatch, FakeProbes({"sm": 0.0}))
    out, data = tmp_path / "out", {"iemocap": tmp_path}

    def run(fold: int) -> list:
        overrides = {"iemocap:fold": fold}
        plan = plan_benchmark(
            {"sm": encoders["sm"]}, out, "iemocap", "first", data, "tiny", overrides
        )
        return run_benchmark(plan, log=lambda line: None)

    assert [o.status for o in run(1)] == ["done"]
    assert [o.status for o in run(1)] == ["reused"]
    (outcome,) = run(2)
    assert outcome.status == "failed" and len(fake.calls) == 1
    assert "finished with overrides {'fold': 1}, not {'fold': 2}" in outcome.error
    assert "delete that folder" in outcome.error


def test_tasks_without_data_are_listed_as_skipped(monkeypatch, tmp_path, encoders):
    fake = install(monkeypatch, FakeProbes({"sm": 0.0}))
    out = tmp_path / "out"
    plan = plan_benchmark(
        {"sm": encoders["sm"]}, out, "all", "first", {"iemocap": tmp_path}
    )
    lines = []
    outcomes = run_benchmark(plan, log=lines.append)
    assert fake.calls == [("sm", "iemocap", TASKS["iemocap"][0])]
    skipped = {o.run.task for o in outcomes if o.status == "skipped"}
    assert skipped == set(TASKS) - {"iemocap"}
    assert "skipped slurp: no data folder given (--data slurp=DIR)" in lines
    markdown = (out / "results.md").read_text()
    assert (
        "- buckeye: no data folder given for buckeye (--data buckeye=DIR)"
        in markdown.split("## Skipped")[1]
    )
    rows = read_csv(out / "results.csv")
    assert sum(r["status"] == "skipped" for r in rows) == len(TASKS) - 1


def load_recipe():
    return mp3s_benchmark


def test_encoder_folders_are_loaded_before_anything_runs(export_tiny_encoder, tmp_path):
    good = export_tiny_encoder(tmp_path / "good")
    assert check_encoders({"good": good}) == {"good": 3}
    other = tmp_path / "other"
    other.mkdir()
    (other / "encoder.json").write_text(json.dumps({"format": "someone-else"}))
    with pytest.raises(ValueError, match="someone-else"):
        check_encoders({"good": good, "other": other})


def test_command_demo_reports_and_exit_status(
    monkeypatch, export_tiny_encoder, tmp_path, capsys
):
    fake = install(monkeypatch, FakeProbes({"sm": 0.0}, failing_tasks=("slurp",)))
    encoder = export_tiny_encoder(tmp_path / "sm")
    recipe = load_recipe()
    out = tmp_path / "out"
    argv = [
        "--encoder",
        str(encoder),
        "--tasks",
        "iemocap,slurp",
        "--output",
        str(out),
        "--synthetic-size",
        "tiny",
        "--override",
        "number_of_epochs=1",
        "--override",
        "iemocap:fold=2",
        "--device",
        "cpu",
    ]
    assert recipe.main(argv) == 1
    printed = capsys.readouterr()
    assert "encoder sm: " in printed.out and "(3 hidden states)" in printed.out
    assert "demo on the synthetic corpora (tiny)" in printed.out
    assert "| iemocap | " in printed.out
    assert "2 run(s) failed" in printed.err
    assert fake.overrides == {
        "iemocap": {"number_of_epochs": 1, "fold": 2},
        "slurp": {"number_of_epochs": 1},
    }
    assert fake.run_opts == {"device": "cpu"}
    assert "Demo on the synthetic corpora (tiny)" in (out / "results.md").read_text()

    fake.failing_tasks.clear()
    assert recipe.main(argv) == 0
    assert len(fake.calls) == 6


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--tasks", "timit"], "unknown task 'timit'; valid: all, "),
        (["--data", "slurp"], "--data 'slurp' is not KEY=VALUE"),
        (["--names", "a", "b"], "--names gives 2 names for 1 --encoder"),
        (["--override", "lr"], "--override 'lr' is not KEY=VALUE"),
        (
            ["--baseline", "mfcc"],
            "unknown baseline 'mfcc'; valid: fbank, untrained, "
            "untrained=PATH/TO/PRETRAINING.yaml",
        ),
        (["--baseline", "fbank", "--baseline", "fbank"], "'fbank' is given twice"),
        (["--baseline", "untrained"], "not an encoder folder of recipes/pretrain.py"),
        (["--baseline", "untrained=nowhere.yaml"], "no such pre-training YAML"),
    ],
)
def test_command_rejects_bad_arguments_before_running(
    monkeypatch, tmp_path, capsys, extra, message
):
    fake = install(monkeypatch, FakeProbes({"sm": 0.0}))
    encoder = tmp_path / "sm"
    encoder.mkdir()
    recipe = load_recipe()
    assert (
        recipe.main(
            ["--encoder", str(encoder), "--output", str(tmp_path / "o"), *extra]
        )
        == 2
    )
    assert message in capsys.readouterr().err
    assert fake.calls == [] and not (tmp_path / "o").exists()


def test_command_rejects_an_encoder_of_another_model(monkeypatch, tmp_path, capsys):
    fake = install(monkeypatch, FakeProbes({"sm": 0.0}))
    encoder = tmp_path / "sm"
    encoder.mkdir()
    (encoder / "encoder.json").write_text(json.dumps({"format": "someone-else"}))
    argv = ["--encoder", str(encoder), "--output", str(tmp_path / "o")]
    assert load_recipe().main(argv) == 2
    assert "someone-else" in capsys.readouterr().err and fake.calls == []


@pytest.fixture
def single_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_real_probes_run_and_a_broken_corpus_fails_alone(
    export_tiny_encoder, tmp_path, capsys, single_thread
):
    encoder = export_tiny_encoder(tmp_path / "sm")
    slurp = build_corpus("slurp", tmp_path / "corpora", "tiny", progress=False)
    broken = tmp_path / "IEMOCAP_full_release"
    broken.mkdir()
    out = tmp_path / "out"
    argv = [
        "--encoder",
        str(encoder),
        "--tasks",
        "iemocap,slurp",
        "--probes",
        "linear",
        "--data",
        f"slurp={slurp}",
        "--data",
        f"iemocap={broken}",
        "--output",
        str(out),
        "--override",
        "number_of_epochs=1",
        "--device",
        "cpu",
    ]
    recipe = load_recipe()
    assert recipe.main(argv) == 1
    rows = {row["task"]: row for row in read_csv(out / "results.csv")}
    assert rows["iemocap"]["status"] == "failed"
    assert str(broken) in rows["iemocap"]["error"]
    assert rows["slurp"]["metric"] == "accuracy" and rows["slurp"]["status"] == "done"
    assert 0.0 <= float(rows["slurp"]["value"]) <= 100.0
    result = mp3s_tasks.read_result(out / "sm" / "slurp" / "linear")
    assert len(result.layer_weights) == 3
    assert abs(sum(result.layer_weights) - 1.0) < 1e-5
    assert (out / "layer_weights" / "slurp.png").read_bytes()[:8] == PNG_SIGNATURE
    capsys.readouterr()

    assert recipe.main(argv) == 1
    printed = capsys.readouterr().out
    assert (
        "sm slurp/linear: accuracy" in printed
        and "(finished before, reused)" in printed
    )
    assert "sm iemocap/linear: FAILED" in printed


def test_baseline_columns_run_beside_the_encoder(
    export_tiny_encoder, tmp_path, capsys, single_thread
):
    encoder = export_tiny_encoder(tmp_path / "sm")
    slurp = build_corpus("slurp", tmp_path / "corpora", "tiny", progress=False)
    out = tmp_path / "out"
    argv = [
        "--encoder",
        str(encoder),
        "--baseline",
        "fbank",
        "--baseline",
        "untrained",
        "--tasks",
        "slurp",
        "--probes",
        "linear",
        "--data",
        f"slurp={slurp}",
        "--output",
        str(out),
        "--override",
        "number_of_epochs=1",
        "--device",
        "cpu",
    ]
    recipe = load_recipe()
    assert recipe.main(argv) == 0
    printed = capsys.readouterr().out
    assert "encoder fbank: " in printed and "(1 hidden states)" in printed
    assert "encoder untrained: " in printed and "(3 hidden states)" in printed
    rows = read_csv(out / "results.csv")
    assert [(r["encoder"], r["metric"], r["status"]) for r in rows] == [
        ("sm", "accuracy", "done"),
        ("fbank", "accuracy", "done"),
        ("untrained", "accuracy", "done"),
    ]
    markdown = (out / "results.md").read_text()
    assert "| task | probe | metric | sm | fbank | untrained |" in markdown
    assert "Baselines: fbank: the 80 normalised log-mel features" in markdown
    untrained = read_encoder_json(out / "baselines" / "untrained")
    assert untrained["kind"] == "untrained" and untrained["seed"] == 1986
    assert untrained["source"] == str(encoder.resolve())
    assert read_encoder_json(out / "baselines" / "fbank")["kind"] == "fbank"
    fbank = mp3s_tasks.read_result(out / "fbank" / "slurp" / "linear")
    assert fbank.layer_weights == [1.0]

    assert recipe.main(argv) == 0  # baselines and results reused
    assert "untrained slurp/linear: accuracy" in capsys.readouterr().out
    assert {r["status"] for r in read_csv(out / "results.csv")} == {"reused"}
    assert recipe.main([*argv, "--baseline-seed", "7"]) == 2
    assert "holds another baseline" in capsys.readouterr().err
