"""The benchmark scripts run end to end at a toy size (no timing is asserted)."""

from __future__ import annotations

import csv
import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from summarymixing.data.manifest import read_manifest
from summarymixing.data.synthetic import CORPORA
from summarymixing.export.baselines import export_fbank_baseline, export_untrained
from summarymixing.mp3s.corpora.voxceleb import read_trials

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.fixture()
def encoder_speed(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import encoder_speed

    yield encoder_speed
    sys.modules.pop("encoder_speed", None)


def test_encoder_speed_writes_every_configuration(encoder_speed, tmp_path, capsys):
    out = tmp_path / "speed"
    encoder_speed.main([
        "--layers", "1", "--d-model", "16", "--d-ffn", "32", "--nhead", "2",
        "--kernel-size", "3", "--lengths-s", "0.2", "0.4", "--repeats", "1",
        "--layer-repeats", "2", "--warmup", "0", "--no-memory", "--out", str(out),
    ])  # fmt: skip
    with out.with_suffix(".csv").open() as handle:
        rows = list(csv.DictReader(handle))
    configs = {(row["config"], row["frames"]) for row in rows}
    expected = [
        "SummaryMixing layer", "plain formula", "SummaryMixing", "regularMHA",
        "RelPosMHAXL", "RoPEMHA", "SDPA", encoder_speed.NO_MIXER,
    ]  # fmt: skip
    assert configs == {(name, frames) for name in expected for frames in ("10", "20")}
    assert all(float(row["median_s"]) > 0 for row in rows)
    encoder_rows = [row for row in rows if row["part"] == "encoder"]
    assert all(float(row["vs_SDPA"]) > 0 for row in encoder_rows)
    for row in encoder_rows:
        assert float(row["products_gflop"]) > 0 and float(row["floor_s"]) > 0
        assert float(row["vs_floor"]) == pytest.approx(
            float(row["median_s"]) / float(row["floor_s"])
        )
    assert all(row["floor_s"] == "" for row in rows if row["part"] == "layer")
    gflop = {(r["config"], r["frames"]): float(r["products_gflop"])
             for r in encoder_rows}  # fmt: skip
    # regularMHA multiplies everything SDPA's floor holds plus the T x T
    # products that the fused kernel hides; the bare encoder has the fewest.
    for frames in ("10", "20"):
        assert gflop["regularMHA", frames] > gflop["SDPA", frames]
        assert gflop[encoder_speed.NO_MIXER, frames] < gflop["SDPA", frames]
    assert out.with_suffix(".png").stat().st_size > 0
    printed = capsys.readouterr().out
    assert "| vs SDPA |" in printed and "x SDPA's time" in printed
    assert "| matmul floor (s) | vs floor |" in printed


def test_encoder_speed_times_the_layer_by_layer_mlp_beside_the_heads_first_one(
    encoder_speed, tmp_path
):
    out = tmp_path / "speed"
    encoder_speed.main([
        "--layers", "1", "--d-model", "16", "--d-ffn", "32", "--nhead", "2",
        "--kernel-size", "3", "--lengths-s", "0.2", "--repeats", "1",
        "--warmup", "0", "--no-memory", "--parts", "encoder",
        "--layer-by-layer-mlp", "--out", str(out),
    ])  # fmt: skip
    with out.with_suffix(".csv").open() as handle:
        rows = {row["config"]: row for row in csv.DictReader(handle)}
    row = rows[encoder_speed.LAYER_BY_LAYER]
    assert float(row["median_s"]) > 0 and float(row["vs_floor"]) > 0
    # Same model, same output: only the layout of the MLPs' work differs.
    args = encoder_speed.parse_args(["--d-model", "16", "--nhead", "4"])
    heads_first = encoder_speed.conformer(args, "SummaryMixing").eval()
    layer_by_layer = encoder_speed.conformer(args, "SummaryMixing").eval()
    layer_by_layer.load_state_dict(heads_first.state_dict())
    encoder_speed.with_layer_by_layer_mlps(layer_by_layer)
    x = torch.randn(2, 9, 16)
    with torch.no_grad():
        torch.testing.assert_close(
            encoder_speed.run_encoder(layer_by_layer, x),
            encoder_speed.run_encoder(heads_first, x),
        )


@pytest.mark.slow
def test_encoder_speed_times_compiled_encoders_beside_eager(
    encoder_speed, tmp_path, capsys
):
    out = tmp_path / "speed"
    encoder_speed.main([
        "--layers", "1", "--d-model", "16", "--d-ffn", "32", "--nhead", "2",
        "--kernel-size", "3", "--lengths-s", "0.2", "--repeats", "1",
        "--warmup", "1", "--no-memory", "--parts", "encoder",
        "--compiled", "SDPA", "--out", str(out),
    ])  # fmt: skip
    with out.with_suffix(".csv").open() as handle:
        rows = {row["config"]: row for row in csv.DictReader(handle)}
    assert float(rows["SDPA compiled"]["vs_eager"]) > 0
    assert rows["SDPA"]["vs_eager"] == ""  # only compiled rows have one
    assert rows["SDPA compiled"]["floor_s"] == rows["SDPA"]["floor_s"] != ""
    with pytest.raises(SystemExit, match="--compiled needs --warmup 1"):
        encoder_speed.main(["--compiled", "SDPA", "--warmup", "0"])


@pytest.mark.slow
def test_gpu_suite_smoke_runs_every_part_on_cpu(monkeypatch, tmp_path, capsys):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import gpu_suite

    out = gpu_suite.run_suite(
        gpu_suite.parse_args(["--device", "cpu", "--smoke", "--out", str(tmp_path)])
    )
    for name in ("pretrain_step", "encoder_speed", "gpu_suite"):
        sys.modules.pop(name, None)
    readme = (out / "README.md").read_text()
    assert "SMOKE" in readme and "Skipped" not in readme
    for part in ("encoder, bf16, 0.2 s", "encoder, bf16, 0.4 s", "step, bf16, 0.2 s"):
        assert part in readme
    assert "| encoder | SummaryMixing compiled | 0.4 |" in readme
    compiled = (out / "encoder_bf16_0_4s.csv").read_text()
    assert "SDPA compiled" in compiled and "SummaryMixing compiled" in compiled
    assert (out / "step_bf16_0_2s.png").stat().st_size > 0
    # a budget spent before a part starts: the part is listed, not silently lost
    out = gpu_suite.run_suite(
        gpu_suite.parse_args(
            ["--device", "cpu", "--smoke", "--budget-s", "0", "--out", str(tmp_path)]
        )
    )
    assert "- encoder, bf16, 0.4 s" in (out / "README.md").read_text()


def test_pretrain_step_compares_every_model_with_fused_attention(
    monkeypatch, tmp_path, capsys
):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import pretrain_step

    out = tmp_path / "step"
    pretrain_step.main([
        "--small", "--lengths-s", "1", "--repeats", "1", "--warmup", "0",
        "--no-memory", "--out", str(out),
    ])  # fmt: skip
    sys.modules.pop("pretrain_step", None)
    with out.with_suffix(".csv").open() as handle:
        rows = {row["config"]: row for row in csv.DictReader(handle)}
    assert set(rows) == {"SummaryMixing", "MHSA", "MHSA-SDPA"}
    assert float(rows["MHSA-SDPA"]["time_ratio"]) == 1.0
    assert all(float(row["median_s"]) > 0 for row in rows.values())
    assert "| vs MHSA-SDPA |" in capsys.readouterr().out


def test_no_mixer_leaves_only_the_shared_modules(encoder_speed):
    import argparse

    import torch

    args = argparse.Namespace(layers=2, d_model=8, d_ffn=16, nhead=2, kernel_size=3,
                              dropout=0.0)  # fmt: skip
    model = encoder_speed.conformer_without_mixer(args).eval()
    x = torch.randn(1, 5, 8)
    out = model(x)[0]
    expected = x
    for layer in model.layers:
        expected = expected + 0.5 * layer.ffn_module1(expected)
        expected = expected + layer.convolution_module(expected)
        expected = layer.norm2(expected + 0.5 * layer.ffn_module2(expected))
    torch.testing.assert_close(out, model.norm(expected))


# ---------------------------------------------------------------- reproduce ----
ROOT = BENCHMARKS.parent
POSITIVE = "--label-minutes takes two different positive"


@pytest.fixture()
def bench(monkeypatch: pytest.MonkeyPatch):
    """Import a module of benchmarks/ by its bare name, as the scripts do."""
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    return importlib.import_module


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--seeds", "0"], "--seeds must be 1 or more, got 0"),
        (["--ablation", "nope"], "unknown ablation 'nope'; valid: summary_dropout, "
         "layernorm, codebook, mask_prob, lr, frontend"),
        (["--label-minutes", "0", "10"], POSITIVE),
        (["--label-minutes", "10", "10"], POSITIVE),
        (["--label-minutes", "5"], "expected 2 arguments"),
        (["--jobs", "0"], "--jobs must be 1 or more"),
        (["--override", "lr"], "expected KEY=VALUE"),
    ],
)  # fmt: skip
def test_reproduce_rejects_bad_arguments_before_any_work(
    bench, tmp_path, capsys, argv, message
):
    reproduce = bench("reproduce")
    out = tmp_path / "out"
    with pytest.raises(SystemExit) as exit_info:
        reproduce.main([*argv, "--out", str(out)])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_reproduce_refuses_what_would_fail_later_in_one_line(
    bench, tmp_path, capsys, monkeypatch
):
    reproduce = bench("reproduce")
    out = tmp_path / "out"
    cases = [
        (["--hours", "100"], "ask for at most"),  # more voices than the pool has
        (["--override", "no_such_key=1"], "has no key 'no_such_key'"),
    ]
    for argv, message in cases:
        assert reproduce.main([*argv, "--out", str(out)]) == 2
        error = capsys.readouterr().err
        assert message in error and len(error.strip().splitlines()) == 1
    from summarymixing.data.synthetic import librilight

    monkeypatch.setattr(
        librilight.shutil, "disk_usage", lambda _: type("U", (), {"free": 1000})()
    )
    assert reproduce.main(["--hours", "3", "--out", str(out)]) == 2
    error = capsys.readouterr().err
    assert "not enough free disk space for 3 hours" in error
    assert len(error.strip().splitlines()) == 1
    assert not out.exists()


def _lines(folder):
    return {
        line
        for path in sorted(folder.glob("*/*/*.trans.txt"))
        for line in path.read_text().splitlines()
    }


def test_librispeech_subset_is_read_by_the_real_preparer(bench, tiny_corpora, tmp_path):
    from summarymixing.data.prepare_librispeech import prepare_librispeech

    subsets = bench("_label_subsets")
    source = tiny_corpora / CORPORA["librispeech"]
    folder = tmp_path / "ls-0.3"
    record = subsets.librispeech_subset(source, folder, minutes=0.3)
    splits = ["train-clean-100", "dev-clean", "test-clean"]
    manifests = prepare_librispeech(folder, tmp_path / "prep", splits)
    rows = read_manifest(manifests["train-clean-100"])
    seconds = [float(row["duration"]) for row in rows]
    assert len(rows) == record.utterances
    assert 0 <= sum(seconds) - 0.3 * 60 < max(seconds)
    assert abs(sum(seconds) / 60 - record.minutes) < 0.01
    assert not record.all_used and not record.floor_exceeded
    speakers = {path.name for path in (source / "train-clean-100").iterdir()}
    assert (
        {row["spk_id"] for row in rows}
        == speakers
        == set(os.listdir(folder / "train-clean-100"))
    )
    assert _lines(folder / "train-clean-100") < _lines(source / "train-clean-100")
    for split in ("dev-clean", "test-clean", "dev-other", "test-other"):
        assert (folder / split).resolve() == (source / split).resolve()
    assert len(read_manifest(manifests["test-clean"])) == len(
        list((source / "test-clean").rglob("*.flac"))
    )
    assert subsets.librispeech_subset(source, folder, 0.3) == record  # reused
    with pytest.raises(ValueError, match="holds a subset of"):
        subsets.librispeech_subset(source, folder, 0.5)
    everything = subsets.librispeech_subset(source, tmp_path / "ls-all", 100.0)
    assert everything.all_used
    assert everything.utterances == len(_lines(source / "train-clean-100"))


def test_voxceleb_subset_keeps_every_speaker_and_the_trials(
    bench, tiny_corpora, tmp_path
):
    from summarymixing.mp3s.corpora.voxceleb import prepare_voxceleb

    subsets = bench("_label_subsets")
    source = tiny_corpora / CORPORA["voxceleb1"]
    folder = tmp_path / "vox-1.2"
    record = subsets.voxceleb_subset(source, folder, minutes=1.2)
    trials = read_trials(source / "veri_test2.txt", source / "wav")
    tested = {t.enrol_id[:7] for t in trials} | {t.test_id[:7] for t in trials}
    training = {p.name for p in (source / "wav").iterdir()} - tested
    ours = prepare_voxceleb(folder, tmp_path / "prep")
    theirs = prepare_voxceleb(source, tmp_path / "prep-source")
    rows = {split: read_manifest(path) for split, path in ours.items()}
    kept = {row["wav"] for split in ("train", "valid") for row in rows[split]}
    seconds = [subsets.audio_seconds(Path(path)) for path in kept]
    assert (
        len(kept)
        == record.utterances
        < len(
            [p for p in (source / "wav").glob("id*/*/*.wav") if p.parts[-3] in training]
        )
    )
    assert 0 <= sum(seconds) - 1.2 * 60 < max(seconds)
    assert not record.all_used and not record.floor_exceeded
    floor = subsets.voxceleb_subset(source, tmp_path / "vox-0.1", minutes=0.1)
    assert floor.floor_exceeded and floor.utterances == 2 * len(training)
    assert (
        {row["spk_id"] for row in rows["train"]}
        == training
        == {row["spk_id"] for row in rows["valid"]}
    )
    for split in ("enrol", "test"):
        assert [r["ID"] for r in rows[split]] == [
            r["ID"] for r in read_manifest(theirs[split])
        ]
    for speaker in tested:
        assert (folder / "wav" / speaker).resolve() == (
            source / "wav" / speaker
        ).resolve()
    for name in ("veri_test2.txt", "vox1_meta.csv"):
        assert (folder / name).read_text() == (source / name).read_text()


def test_summaries_and_verdicts_on_hand_made_numbers(bench):
    results = bench("_reproduce_results")
    verdicts = bench("_reproduce_verdicts")
    Row, Summary = results.ResultRow, results.Summary
    rows = [
        Row(name, "librispeech", "bilstm", 10.0, "CER", seed, value, "done")
        for name, values in {
            "SummaryMixing": (30.0, 32.0, 34.0),
            "MHSA": (31.0, 31.0, 31.0),
            "untrained": (40.0, 41.0, 42.0),
            "fbank": (33.0, 35.0, 37.0),
        }.items()
        for seed, value in zip((1986, 1987, 1988), values, strict=True)
    ] + [Row("fbank", "librispeech", "bilstm", 10.0, "CER", 1989, None, "failed")]
    table = results.summaries(rows)
    key = ("SummaryMixing", "librispeech", "bilstm", 10.0, "CER")
    assert table[key] == Summary(32.0, 2.0, 3)
    assert table[key].text("CER") == "32.00 ± 2.00 (3)"
    fbank = table[("fbank", "librispeech", "bilstm", 10.0, "CER")]
    assert (fbank.mean, fbank.n) == (35.0, 3)
    names = ("SummaryMixing", "MHSA", "untrained", "fbank")
    get = {name: table[(name, *key[1:])] for name in names}
    label = verdicts.probe_label("librispeech", "CER", 10.0)
    beat = verdicts.beats("SummaryMixing", "untrained", label, "CER",
                          get["SummaryMixing"], get["untrained"])  # fmt: skip
    assert beat.holds is True
    assert beat.line == (
        "SummaryMixing beats untrained by more than the spread of seeds "
        "(librispeech CER, 10 min labels): holds (untrained 41.00 ± 1.00 - "
        "SummaryMixing 32.00 ± 2.00 = 9.00 > 3.00)"
    )
    against_fbank = verdicts.beats("SummaryMixing", "fbank", label, "CER",
                                   get["SummaryMixing"], get["fbank"])  # fmt: skip
    assert against_fbank.holds is False
    assert against_fbank.line.endswith(
        "does NOT hold (fbank 35.00 ± 2.00 - SummaryMixing 32.00 ± 2.00 = 3.00 <= 4.00)"
    )
    within = verdicts.within_one_std("SummaryMixing", "MHSA", label, "CER",
                                     get["SummaryMixing"], get["MHSA"])  # fmt: skip
    assert within.holds is False  # MHSA's spread is 0: 32 > 31 + 0
    assert within.line.endswith(
        "does NOT hold (SummaryMixing 32.00 > MHSA 31.00 + 0.00 = 31.00)"
    )
    one_seed = verdicts.within_one_std(
        "SummaryMixing", "MHSA", label, "CER", Summary(30.0, None, 1), get["MHSA"]
    )
    assert one_seed.holds is None
    assert one_seed.line.endswith(
        "not judged (needs 2 seeds or more: SummaryMixing 1, MHSA 3)"
    )
    missing = verdicts.beats("MHSA", "fbank", label, "CER", None, get["fbank"])
    assert missing == verdicts.Verdict(
        None,
        "MHSA beats fbank by more than the spread of seeds (librispeech CER, 10 min "
        "labels): not judged (no result for MHSA)",
    )
    ablation = verdicts.ablation(
        "mask_prob", ("0.65", "0.5"), label, "CER", get["untrained"], get["MHSA"]
    )
    assert ablation.holds is True
    assert ablation.line == (
        "mask_prob (librispeech CER, 10 min labels): 0.5 has the lower mean (0.5 "
        "31.00 ± 0.00 vs 0.65 41.00 ± 1.00); the difference 10.00 exceeds the "
        "spread 1.00"
    )


def _write_pretraining(folder, losses, seconds_per_step=0.5):
    """What recipes/pretrain.py leaves for the report: steps.jsonl, reproduce.json."""
    folder.mkdir(parents=True, exist_ok=True)
    records = [
        {"kind": "model", "step": 0, "parameters": 2_200_000},
        {"kind": "monitor", "step": 0, "monitor_cer": 60.0, "monitor_speaker_eer": 9.0},
    ]
    records += [
        {"kind": "step", "step": s, "loss": v, "accuracy": 0.1 * s,
         "time": 1e9 + s * seconds_per_step, "seconds_per_step": seconds_per_step,
         "clean": s > 1}
        for s, v in enumerate(losses, start=1)
    ]  # fmt: skip
    last = len(losses)
    records += [
        {"kind": "valid", "step": last, "loss": losses[-1] + 0.1},
        {
            "kind": "monitor",
            "step": last,
            "monitor_cer": 50.0,
            "monitor_speaker_eer": 12.0,
        },
    ]
    (folder / "steps.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    record = {"command": [], "wall_seconds": 60.0, "cpu_seconds": 55.0,
              "peak_rss_mib": 1500.0}  # fmt: skip
    (folder / "reproduce.json").write_text(json.dumps(record))


def test_report_of_a_fake_partial_study(bench, tmp_path):
    study_module = bench("_reproduce_study")
    report_module = bench("_reproduce_report")
    setup_module = bench("_reproduce_setup")
    subsets = bench("_label_subsets")
    Upstream = study_module.Upstream
    upstreams = (
        Upstream("SummaryMixing", "pretrained", Path("w2v2_summarymixing.yaml")),
        Upstream("MHSA", "pretrained", Path("w2v2_mhsa.yaml")),
        Upstream("untrained", "untrained"),
        Upstream("fbank", "fbank"),
    )
    study = study_module.Study(tmp_path, (1986, 1987), (1.0, 2.0), upstreams, "MHSA")
    probes = [("librispeech", "bilstm"), ("voxceleb1", "xvector")]
    for seed in study.seeds:
        for index, upstream in enumerate(upstreams):
            (study.encoder_folder(upstream, seed)).mkdir(parents=True, exist_ok=True)
            (study.encoder_folder(upstream, seed) / "encoder.json").write_text("{}")
            if upstream.kind == "pretrained":
                folder = study.pretrain_folder(upstream, seed)
                losses = [4.0 - 0.1 * s - 0.01 * seed for s in range(10)]
                _write_pretraining(folder, losses, 0.25 * (index + 1))
            for budget in study.budgets:
                for task, probe in probes:
                    run = study.run_folder(upstream, seed, budget, task, probe)
                    run.mkdir(parents=True)
                    if (upstream.name, seed, budget, task) == ("fbank", 1987, 2.0,
                                                              "voxceleb1"):  # fmt: skip
                        (run / "failure.log").write_text("Traceback\nValueError: x\n")
                        continue
                    if (upstream.name, seed, task) == ("MHSA", 1987, "librispeech"):
                        continue  # not finished
                    base = 30.0 + 5 * index + seed - 1986 + budget
                    metrics = {"CER": base, "WER": 2 * base, "EER": base / 2,
                               "minDCF": base / 100}  # fmt: skip
                    shift = 0.2 * (seed - 1986)
                    weights = (
                        [1.0]
                        if upstream.kind == "fbank"
                        else [0.7 - shift, 0.3 + shift]
                    )
                    (run / "result.json").write_text(json.dumps({
                        "task": task, "probe": probe, "metrics": metrics,
                        "primary_metric": "WER", "layer_weights": weights,
                    }))  # fmt: skip
    record = subsets.SubsetRecord("librispeech", "/src", 2.0, 0.78, 16, 4, True, False)
    setup = setup_module.Setup(
        command="python benchmarks/reproduce.py",
        machine={"cpu": "test CPU", "cpu_kernels": "AVX2", "logical_cores": 2,
                 "usable_cores": 2,
                 "memory_gib": 8.0, "torch": "x", "speechbrain": "y",
                 "python": "z", "cuda": None, "load_start": 1.0, "load_end": 2.0},
        stages={"corpora": 2.0, "pre-training": 120.0},
        keys={"lr": 0.001, "optimizer_step_limit": 10},
        demo_keys=["lr"],
        probe_overrides={"librispeech": {"number_of_epochs": 1}},
        corpora={"LibriSpeech (synthetic, tiny)": {"train-clean-100": 0.78}},
        subsets={("librispeech", 2.0): record},
        baseline_mib=900.0,
        failures=["pre-training X seed 1: boom"],
    )  # fmt: skip
    report, rows = report_module.write_report(study, probes, setup)
    text = report.read_text()
    assert "- Machine: test CPU (torch CPU kernels AVX2), 2 logical cores" in text
    assert len(rows) == 4 * 2 * 2 * 2 * 2
    with (tmp_path / "results.csv").open() as handle:
        table = list(csv.DictReader(handle))
    assert len(table) == 64
    assert {row["status"] for row in table} == {"done", "failed", "missing"}
    with (tmp_path / "summary.csv").open() as handle:
        summary = list(csv.DictReader(handle))
    assert len(summary) == 4 * 2 * 2 * 2
    cer = next(r for r in summary if (r["upstream"], r["task"], r["budget_minutes"],
                                      r["metric"]) == ("untrained", "librispeech",
                                                       "1.0", "CER"))  # fmt: skip
    assert (float(cer["mean"]), float(cer["std"]), cer["n"]) == (41.5, 0.5**0.5, "2")
    for name in ("curves.png", "downstream.png", "efficiency.png"):
        assert (tmp_path / name).stat().st_size > 0
    weights = text.split("## Where the frozen probes read")[1].split("## ")[0]
    assert "| upstream | probe | labels | h0 | h1 |" in weights
    assert (
        "| SummaryMixing | voxceleb1 (xvector) | 1 min | 0.60 ± 0.14 (2) | "
        "0.40 ± 0.14 (2) |" in weights
    )
    assert "| MHSA | librispeech (bilstm) | 1 min | 0.70 (1) | 0.30 (1) |" in weights
    assert "fbank" not in weights
    assert (
        "| librispeech (bilstm) | CER | 1 min | 31.50 ± 0.71 (2) | 36.00 (1) |" in text
    )
    assert (
        "- untrained beats SummaryMixing" not in text
        and "- SummaryMixing beats untrained by more than the spread of seeds "
        "(librispeech CER, 1 min labels): holds (untrained 41.50 ± 0.71 - "
        "SummaryMixing 31.50 ± 0.71 = 10.00 > 1.41)"
        in text
    )
    assert (
        "SummaryMixing within one std of MHSA or better (librispeech CER, 1 min "
        "labels): not judged (needs 2 seeds or more: SummaryMixing 2, MHSA 1)" in text
    )
    assert "monitor speaker EER, step 0 (%) | monitor speaker EER, last (%) |" in text
    assert (
        "| 60.0 ± 0.0 (2) | 50.0 ± 0.0 (2) | 9.0 ± 0.0 (2) | 12.0 ± 0.0 (2) |" in text
    )
    assert "- fbank voxceleb1/xvector, 2 min, seed 1987: failed" in text
    assert "- MHSA librispeech/bilstm, 1 min, seed 1987: missing" in text
    assert "the budget exceeds the corpus: all of it is used" in text
    assert "| SummaryMixing | 2.20 ± 0.00 (2) | 10 ± 0 (2) |" in text
    # step times from steps.jsonl: median of the clean records, mean of all
    assert "| SummaryMixing | 0.250 ± 0.000 (2) | 0.50 | 0.250 ± 0.000 (2) |" in text
    assert "- pre-training X seed 1: boom" in text


def test_fine_tuning_rows_skip_fbank_and_say_so_in_the_verdicts(bench, tmp_path):
    study_module = bench("_reproduce_study")
    finetune = bench("_reproduce_finetune")
    Upstream = study_module.Upstream
    upstreams = (
        Upstream("SummaryMixing", "pretrained", Path("w2v2_summarymixing.yaml")),
        Upstream("untrained", "untrained"),
        Upstream("fbank", "fbank"),
    )
    study = study_module.Study(
        tmp_path, (1986, 1987), (1.0,), upstreams, "SummaryMixing"
    )
    for seed in study.seeds:
        for index, upstream in enumerate(upstreams):
            study.encoder_folder(upstream, seed).mkdir(parents=True, exist_ok=True)
            (study.encoder_folder(upstream, seed) / "encoder.json").write_text("{}")
            if upstream.kind == "fbank":
                continue
            run = study.run_folder(upstream, seed, 1.0, *finetune.FINETUNE)
            run.mkdir(parents=True)
            base = 20.0 + 30 * index + seed - 1986
            (run / "result.json").write_text(json.dumps({
                "task": "asr", "probe": "finetune_ctc", "primary_metric": "WER",
                "metrics": {"CER": base, "WER": 2 * base}, "layer_weights": [],
            }))  # fmt: skip
    commands = finetune.finetune_command(study, 1987, 1.0, tmp_path, "tiny", "cpu")
    assert [folder.parts[-3] for folder, _ in commands] == [
        "SummaryMixing",
        "untrained",
    ]
    command = commands[0][1]
    assert "--seed=1987" in command and "--optimizer_step_limit=4" in command
    assert command[command.index("--data_folder") + 1].endswith("librispeech-1min")
    results = bench("_reproduce_results")
    verdicts = bench("_reproduce_verdicts")
    rows = results.collect_rows(study, [finetune.FINETUNE])
    assert {row.upstream for row in rows} == {"SummaryMixing", "untrained"}
    table = results.summaries(rows)
    lines = [v.line for v in verdicts.study_verdicts(study, [finetune.FINETUNE], table)]
    assert lines == [
        "SummaryMixing beats untrained by more than the spread of seeds (librispeech "
        "CER after CTC fine-tuning, 1 min labels): holds (untrained 50.50 ± 0.71 - "
        "SummaryMixing 20.50 ± 0.71 = 30.00 > 1.41)"
    ]
    report = bench("_reproduce_report")
    text = report.downstream_table(study, [finetune.FINETUNE], table)
    assert "| librispeech (finetune_ctc) | CER | 1 min | 20.50 ± 0.71 (2) |" in text
    assert text.splitlines()[2].endswith("| n/a |")


def test_scaled_fine_tuning_grows_with_the_labels_and_reuses_the_smallest(
    bench, tmp_path
):
    study_module = bench("_reproduce_study")
    finetune = bench("_reproduce_finetune")
    Upstream = study_module.Upstream
    upstreams = (
        Upstream("SummaryMixing", "pretrained", Path("w2v2_summarymixing.yaml")),
        Upstream("fbank", "fbank"),
    )
    study = study_module.Study(tmp_path, (1986,), (1.0, 3.0), upstreams, "x")
    for upstream in upstreams:
        study.encoder_folder(upstream, 1986).mkdir(parents=True, exist_ok=True)
        (study.encoder_folder(upstream, 1986) / "encoder.json").write_text("{}")
    assert (
        finetune.finetune_command(study, 1986, 1.0, tmp_path, "tiny", "cpu", True) == []
    )
    [(folder, command)] = finetune.finetune_command(
        study, 1986, 3.0, tmp_path, "tiny", "cpu", scaled=True
    )
    assert folder.name == "finetune_ctc_scaled" and folder.parts[-3] == "SummaryMixing"
    assert "--optimizer_step_limit=12" in command
    assert "--freeze_encoder_steps=6" in command
    assert command[command.index("--data_folder") + 1].endswith("librispeech-3min")
    [(_, fixed)] = finetune.finetune_command(study, 1986, 3.0, tmp_path, "tiny", "cpu")
    assert "--optimizer_step_limit=4" in fixed
    fixed_run = study.run_folder(upstreams[0], 1986, 1.0, *finetune.FINETUNE)
    fixed_run.mkdir(parents=True)
    (fixed_run / "result.json").write_text(json.dumps({
        "task": "asr", "probe": "finetune_ctc", "primary_metric": "WER",
        "metrics": {"CER": 40.0, "WER": 90.0}, "layer_weights": [],
    }))  # fmt: skip
    finetune.link_smallest_scaled_runs(study)
    finetune.link_smallest_scaled_runs(study)  # a second call keeps the link
    rows = bench("_reproduce_results").collect_rows(study, [finetune.FINETUNE_SCALED])
    values = {(r.budget_minutes, r.metric): (r.value, r.status) for r in rows}
    assert values[(1.0, "CER")] == (40.0, "done")
    assert values[(3.0, "CER")] == (None, "missing")
    assert {r.upstream for r in rows} == {"SummaryMixing"}


@pytest.mark.slow
def test_reproduce_smoke_run_and_rerun_trains_nothing(tmp_path):
    out = tmp_path / "repro"
    command = [
        sys.executable, str(BENCHMARKS / "reproduce.py"), "--size", "tiny",
        "--seeds", "2", "--steps", "3", "--hours", "0.05", "--label-minutes", "1",
        "2", "--jobs", "1", "--out", str(out),
    ]  # fmt: skip
    first = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    assert (
        "Trained now: 4 pre-trainings, 3 baseline folders, 32 probe runs, "
        "12 fine-tunings" in first.stdout
    )
    assert (out / "report.md").is_file()
    with (out / "results.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert {(r["upstream"], r["seed"], r["budget_minutes"]) for r in rows} == {
        (name, seed, budget)
        for name in ("SummaryMixing", "MHSA", "untrained", "fbank")
        for seed in ("1986", "1987")
        for budget in ("1.0", "2.0")
    }
    assert all(r["status"] == "done" and r["value"] for r in rows)
    tuned = [r for r in rows if r["probe"] == "finetune_ctc"]
    assert len(tuned) == 3 * 2 * 2 * 2  # no FBANK row: it has no encoder to tune
    assert "fbank" not in {r["upstream"] for r in tuned}
    with (out / "summary.csv").open() as handle:
        assert len(list(csv.DictReader(handle))) == 4 * 2 * 2 * 2 + 3 * 2 * 2
    steps = out / "seed-1986" / "pretrain" / "SummaryMixing" / "steps.jsonl"
    readings = [json.loads(line) for line in steps.read_text().splitlines()]
    eers = [r["monitor_speaker_eer"] for r in readings if r["kind"] == "monitor"]
    assert len(eers) >= 2 and all(0.0 <= eer <= 100.0 for eer in eers)
    finished = sorted(out.glob("seed-*/**/result.json")) + sorted(
        out.glob("seed-*/pretrain/*/reproduce.json")
    )
    assert len(finished) == 32 + 12 + 4
    stamps = [path.stat().st_mtime_ns for path in finished]
    second = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    assert second.returncode == 0, second.stderr[-3000:]
    assert (
        "Trained now: 0 pre-trainings, 0 baseline folders, 0 probe runs, "
        "0 fine-tunings" in second.stdout
    )
    assert [path.stat().st_mtime_ns for path in finished] == stamps


TINY_SM = {
    "latent_dim": 16, "d_model": 32, "num_layers": 2, "d_ffn": 64, "nhead": 2,
    "local_proj_hid_dim": [32], "local_proj_out_dim": 32, "summary_hid_dim": [32],
    "summary_out_dim": 32, "target_dim": 16,
}  # fmt: skip


def test_layer_speaker_eer_reads_every_layer_of_every_encoder(
    bench, tiny_corpora, tmp_path, capsys
):
    untrained = export_untrained(
        tmp_path / "u", ROOT / "hparams" / "w2v2_summarymixing.yaml", TINY_SM, seed=3
    )
    fbank = export_fbank_baseline(tmp_path / "f")
    script = bench("layer_speaker_eer")
    voxceleb = tiny_corpora / CORPORA["voxceleb1"]
    out = tmp_path / "out"
    argv = [f"untrained={untrained}", f"fbank={fbank}", "--voxceleb", str(voxceleb)]
    assert script.main([*argv, "--out", str(out)]) == 0
    with (out / "layer_speaker_eer.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert [row["encoder"] for row in rows] == ["untrained", "fbank"]
    assert list(rows[0]) == ["encoder", "latent", "h0", "h1", "h2"]
    assert rows[1]["latent"] == "" and rows[1]["h1"] == ""
    for row in rows:
        values = [float(v) for k, v in row.items() if k != "encoder" and v != ""]
        assert values and all(0.0 <= value <= 100.0 for value in values)
    assert (out / "layer_speaker_eer.png").stat().st_size > 0
    assert "untrained: latent " in capsys.readouterr().out
    assert script.main([str(untrained), "--voxceleb", str(tmp_path / "nope")]) == 2
    assert "--voxceleb must be a VoxCeleb1 root" in capsys.readouterr().err
