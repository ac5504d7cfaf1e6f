"""python -m summarymixing.plot: the curves of several runs in one PNG."""

import json
import subprocess
import sys
from pathlib import Path

from matplotlib import image

from summarymixing.plot import PANELS, main, plot_runs


def write_run(folder: Path, steps: int, monitor: bool) -> Path:
    folder.mkdir(parents=True)
    records = []
    for step in range(100, steps + 1, 100):
        values = {"loss": 4.0 - step / 1000, "accuracy": step / 10000, "lr": 1e-3}
        values |= {"perplexity": 20.0, "codes_used": 40, "temperature": 1.5}
        values |= {"grad_norm": 0.5, "audio_per_second": 120.0}
        records.append({"kind": "step", "step": step, **values})
        if step % 500 == 0:
            records.append({"kind": "valid", "step": step, "loss": 3.0})
        if monitor and step % 1000 == 0:
            scores = {"monitor_cer": 55.0, "monitor_speaker_eer": 12.0}
            records.append({"kind": "monitor", "step": step, **scores})
    text = "".join(json.dumps(record) + "\n" for record in records)
    (folder / "steps.jsonl").write_text(text + '{"kind": "st')  # a run going on
    return folder


def test_every_logged_quantity_gets_a_panel(tmp_path):
    first = write_run(tmp_path / "sm" / "1986", 2000, monitor=True)
    second = write_run(tmp_path / "mhsa" / "1986", 1000, monitor=False)
    png = tmp_path / "plots" / "curves.png"
    panels = plot_runs([first, second], png)
    assert panels == [label for _, _, label in PANELS]
    height, width, _ = image.imread(png).shape
    assert width > 1500 and height > 900
    only_steps = write_run(tmp_path / "short", 300, monitor=False)
    (only_steps / "steps.jsonl").write_text(
        json.dumps({"kind": "step", "step": 1, "loss": 2.0}) + "\n"
    )
    assert plot_runs([only_steps], tmp_path / "one.png") == ["training loss"]


def test_command_line_names_runs_and_refuses_folders_without_a_log(tmp_path, capsys):
    run = write_run(tmp_path / "run", 500, monitor=False)
    out = tmp_path / "c.png"
    assert main([str(run), "--out", str(out), "--names", "demo"]) == 0
    assert out.is_file() and f"runs: {out}" in capsys.readouterr().out
    assert main([str(run), str(tmp_path), "--out", str(out)]) == 2
    error = capsys.readouterr().err
    assert f"no steps.jsonl in {tmp_path}" in error and "recipes/pretrain.py" in error
    assert main([str(run), "--names", "a", "b"]) == 2
    assert "2 --names for 1 runs" in capsys.readouterr().err
    result = subprocess.run(
        [sys.executable, "-m", "summarymixing.plot", str(run), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
