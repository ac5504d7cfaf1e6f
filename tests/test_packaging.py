"""The package works as a wheel outside the repository, not only as a clone.

Builds a wheel from this tree (not editable), installs it into a fresh virtual
environment and runs the console scripts from a folder that has no
``hparams/`` and no ``summarymixing/``, as a user who typed ``pip install``
would. To keep the test offline and quick, the fresh environment borrows the
test environment's dependencies (torch, SpeechBrain, ...) through a ``.pth``
line; the package itself comes only from the wheel, which the test checks.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
from test_mp3s_tasks import tiny_overrides
from test_pretrain_recipe import TINY

from summarymixing.data.synthetic import CORPORA

ROOT = Path(__file__).resolve().parents[1]
WHEEL_INPUTS = ("pyproject.toml", "README.md", "LICENSE")


def run(command: list, cwd: Path, timeout: int = 600) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    result = subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        env={**environment, "OMP_NUM_THREADS": "1"},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert result.returncode == 0, (
        command,
        result.stdout[-2000:],
        result.stderr[-3000:],
    )
    return result


def build_wheel(tmp_path: Path) -> Path:
    """Build from a copy of the tree, so that no build/ lands in the checkout."""
    source = tmp_path / "source"
    source.mkdir()
    for name in WHEEL_INPUTS:
        shutil.copy(ROOT / name, source / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info")
    shutil.copytree(ROOT / "summarymixing", source / "summarymixing", ignore=ignore)
    dist = tmp_path / "dist"
    pip_wheel = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps"]
    run([*pip_wheel, "--no-build-isolation", "-w", dist, source], tmp_path)
    (wheel,) = dist.glob("summarymixing-*.whl")
    return wheel


def fresh_environment(tmp_path: Path, wheel: Path) -> Path:
    """A new venv holding the wheel; dependencies borrowed (see the module doc)."""
    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", "--without-pip", venv], tmp_path)
    python = venv / "bin" / "python"
    query = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    site = Path(run([python, "-c", query], tmp_path).stdout.strip())
    # a plain path line: its own .pth files (our editable install) are not run
    (site / "borrowed_dependencies.pth").write_text(
        sysconfig.get_paths()["purelib"] + "\n"
    )
    install = ["-m", "pip", "--python", python, "install", "--quiet", "--no-deps"]
    run([sys.executable, *install, "--no-index", wheel], tmp_path)
    return venv


@pytest.mark.slow
def test_the_wheel_pretrains_probes_and_finetunes_from_another_folder(
    tmp_path, tiny_corpora
):
    venv = fresh_environment(tmp_path, build_wheel(tmp_path))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    where = run(
        [venv / "bin/python", "-c", "import summarymixing as s; print(s.__file__)"],
        elsewhere,
    )
    assert Path(where.stdout.strip()).is_relative_to(venv), where.stdout

    pretrain = [venv / "bin/summarymixing-pretrain", "hparams/w2v2_summarymixing.yaml"]
    pretrain += ["--data_folder", tiny_corpora / CORPORA["librilight"]]
    pretrain += ["--output_folder", "pretrained", "--device", "cpu"]
    for key, value in {**TINY, "data_layout": "librilight"}.items():
        pretrain += [f"--{key}", value]
    run([*pretrain, "--optimizer_step_limit", 3], elsewhere)
    encoder = elsewhere / "pretrained" / "encoder"
    assert (encoder / "encoder.json").is_file()

    probe = [venv / "bin/python", "-m", "summarymixing.recipes.mp3s_probe"]
    probe += ["hparams/mp3s/librispeech_bilstm.yaml", "--encoder_folder", encoder]
    probe += ["--data_folder", tiny_corpora / CORPORA["librispeech"]]
    probe += ["--output_folder", "probe", "--device", "cpu", "--noprogressbar"]
    for key, value in tiny_overrides("librispeech").items():
        probe += [f"--{key}", json.dumps(value)]
    printed = run(probe, elsewhere).stdout
    assert "librispeech / bilstm: WER" in printed, printed
    result = json.loads((elsewhere / "probe" / "result.json").read_text())
    assert {"WER", "CER"} <= set(result["metrics"])
    finetune = [venv / "bin/summarymixing-finetune-ctc", "hparams/finetune_ctc.yaml"]
    finetune += ["--encoder_folder", encoder, "--output_folder", "finetuned"]
    finetune += ["--data_folder", tiny_corpora / CORPORA["librispeech"]]
    finetune += ["--optimizer_step_limit", 2, "--freeze_encoder_steps", 1]
    finetune += ["--max_batch_length", 20, "--num_buckets", 2, "--num_workers", 0]
    finetune += ["--grad_accumulation_factor", 1, "--device", "cpu"]
    assert "test-clean: WER" in run(finetune, elsewhere).stdout
    audio = sorted(
        (tiny_corpora / CORPORA["librispeech"] / "test-clean").rglob("*.flac")
    )
    transcribe = [venv / "bin/summarymixing-transcribe", "finetuned/asr", *audio[:2]]
    lines = run(transcribe, elsewhere).stdout.strip().splitlines()
    assert [line.split("\t")[0] for line in lines] == [str(a) for a in audio[:2]]
    # nothing of the run was written into the installed package
    assert not list((venv / "lib").rglob("results"))


@pytest.mark.parametrize(
    "name", ["pretrain", "mp3s_probe", "mp3s_benchmark", "finetune_ctc", "transcribe"]
)
def test_each_recipe_file_launches_its_package_module(name):
    result = subprocess.run(
        [sys.executable, ROOT / "recipes" / f"{name}.py", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "usage:" in result.stdout


def lower_bounds() -> dict[str, tuple[int, ...]]:
    """``name>=X`` of pyproject's dependencies (tomllib is 3.11+: a regex)."""
    text = (ROOT / "pyproject.toml").read_text()
    dependencies = text.split("dependencies = [", 1)[1].split("]", 1)[0]
    found = re.findall(r'"([\w-]+)>=([\d.]+)', dependencies)
    return {name: version_tuple(version) for name, version in found}


def version_tuple(text: str) -> tuple[int, ...]:
    parts = tuple(int(part) for part in text.split("."))
    return parts + (0,) * (3 - len(parts))


def test_the_lowest_versions_job_installs_the_lower_bounds_of_pyproject():
    script = (ROOT / ".ci" / "lowest").read_text()
    pins = dict(re.findall(r'"(torch|torchaudio|speechbrain)==([\d.]+)"', script))
    bounds = lower_bounds()
    assert set(pins) == {"torch", "torchaudio", "speechbrain"}
    for name, version in pins.items():
        assert version_tuple(version) == bounds[name], name
