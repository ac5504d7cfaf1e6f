"""The benchmark scripts run end to end at a toy size (no timing is asserted)."""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import pytest

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
        "RelPosMHAXL", encoder_speed.NO_MIXER,
    ]  # fmt: skip
    assert configs == {(name, frames) for name in expected for frames in ("10", "20")}
    assert all(float(row["median_s"]) > 0 for row in rows)
    assert out.with_suffix(".png").stat().st_size > 0
    assert "no mixer at all takes" in capsys.readouterr().out


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
