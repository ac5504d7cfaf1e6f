"""The fine-tuning stage of ``reproduce.py``: every encoder fine-tuned with CTC.

Beside the frozen probes, each upstream that has an encoder (pre-trained or
untrained; FBANK has none) is fine-tuned with ``recipes/finetune_ctc.py`` for
every seed and label budget, on the same labelled subset the ASR probe trains
on (``<out>/subsets/librispeech-<A>min``, or the ``--asr-corpus`` subset),
with the same schedule for all: the keys of ``hparams/finetune_demo.yaml``
(``FINETUNE_KEYS[size]`` on top; ``tiny`` is a smoke test). The run folder is
the probe layout's, ``seed-<s>/probes-<A>min/<upstream>/librispeech/
finetune_ctc``, and the recipe's ``result.json`` is in the MP3S results
format, so the report reads it like any probe. A finished run is reused; a
failed one leaves its ``stdout.txt`` and the others go on.

A fixed number of updates gives the larger label budget fewer passes over its
labels than the smaller one. ``scaled=True`` adds the probe
``finetune_ctc_scaled``: the same recipe with its updates (and its
encoder-frozen updates) in proportion to the labelled minutes, the smallest
budget keeping the YAML's schedule, so every budget gets about the same number
of epochs. At the smallest budget that run is the fixed one: its folder is a
link to the ``finetune_ctc`` folder, nothing is trained twice.
"""

from __future__ import annotations

import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from _pretrain_runs import command_line_value
from _reproduce_stages import run_logged
from _reproduce_study import Study, subset_folder

from summarymixing.mp3s.run.tasks import read_result
from summarymixing.resources import hparams_folder
from summarymixing.training.config import load_yaml

ROOT = Path(__file__).resolve().parents[1]
RECIPE = ROOT / "recipes" / "finetune_ctc.py"
FINETUNE = ("librispeech", "finetune_ctc")
"""The (task, probe) under which the report shows fine-tuning."""
FINETUNE_SCALED = ("librispeech", "finetune_ctc_scaled")
"""The same, with updates in proportion to the labelled minutes."""
FINETUNE_KEYS = {
    "small": {"test_splits": ["test-clean"]},
    "tiny": {"test_splits": ["test-clean"], "optimizer_step_limit": 4,
             "freeze_encoder_steps": 2, "log_interval": 1},
}  # fmt: skip
"""Per corpus size: keys on top of ``hparams/finetune_demo.yaml``."""


def finetune_keys(
    size: str, seed: int, budget_ratio: float | None = None
) -> dict[str, Any]:
    """Return the fine-tuning YAML keys of every upstream at one seed.

    Parameters
    ----------
    size : str
        ``small`` or ``tiny`` (``FINETUNE_KEYS``).
    seed : int
        The run's seed.
    budget_ratio : float, optional
        The scaled schedule (see the module docstring): this budget's labelled
        minutes over the smallest budget's; the updates and the
        encoder-frozen updates are multiplied by it. None: the fixed schedule.

    Example
    -------
    >>> keys = finetune_keys("tiny", 1987)
    >>> keys["seed"], keys["optimizer_step_limit"], keys["validation_metric"]
    (1987, 4, 'CER')
    >>> keys = finetune_keys("small", 1986, budget_ratio=3.0)
    >>> keys["optimizer_step_limit"], keys["freeze_encoder_steps"]
    (1500, 450)
    """
    keys = load_yaml((hparams_folder() / "finetune_demo.yaml").read_text())
    keys = {**keys, **FINETUNE_KEYS[size], "seed": seed}
    if budget_ratio is not None:
        for key in ("optimizer_step_limit", "freeze_encoder_steps"):
            keys[key] = max(1, round(keys[key] * budget_ratio))
    return keys


def finetune_command(
    study: Study,
    seed: int,
    budget: float,
    out: Path,
    size: str,
    device: str,
    scaled: bool = False,
) -> list[tuple[Path, list[str]]]:
    """Return (run folder, command) of every upstream with an encoder folder.

    ``scaled``: the commands of ``FINETUNE_SCALED`` instead of ``FINETUNE``
    (none at the smallest budget, whose scaled run is the fixed one).
    """
    ratio = budget / min(study.budgets) if scaled else None
    if ratio == 1.0:
        return []
    keys = finetune_keys(size, seed, ratio)
    runs = []
    for upstream in study.upstreams:
        if upstream.kind == "fbank":
            continue
        encoder = study.encoder_folder(upstream, seed).resolve()
        if not (encoder / "encoder.json").is_file():
            continue
        probe = FINETUNE_SCALED if scaled else FINETUNE
        folder = study.run_folder(upstream, seed, budget, *probe).resolve()
        command = [
            sys.executable,
            str(RECIPE),
            str(hparams_folder() / "finetune_ctc.yaml"),
        ]
        command += ["--encoder_folder", str(encoder), "--output_folder", str(folder)]
        command += [
            "--data_folder",
            str(subset_folder(out, FINETUNE[0], budget).resolve()),
        ]
        command += ["--device", device, "--noprogressbar"]
        command += [f"--{key}={command_line_value(v)}" for key, v in keys.items()]
        runs.append((folder, command))
    return runs


def link_smallest_scaled_runs(study: Study) -> None:
    """Point ``FINETUNE_SCALED`` at the smallest budget to the fixed runs.

    At that budget both schedules are the same command, so the scaled row
    reads the fixed run's folder through a symbolic link.
    """
    budget = min(study.budgets)
    for seed in study.seeds:
        for upstream in study.upstreams:
            if upstream.kind == "fbank":
                continue
            fixed = study.run_folder(upstream, seed, budget, *FINETUNE)
            link = study.run_folder(upstream, seed, budget, *FINETUNE_SCALED)
            if not link.is_symlink() and not link.exists():
                link.parent.mkdir(parents=True, exist_ok=True)
                link.symlink_to(fixed.name, target_is_directory=True)


def run_finetunings(
    study: Study,
    out: Path,
    size: str,
    device: str,
    threads: int,
    jobs: int,
    scaled: bool = False,
) -> tuple[int, dict[str, str]]:
    """Fine-tune every upstream, seed and budget not done yet, ``jobs`` at once.

    ``scaled``: the runs of ``FINETUNE_SCALED`` instead (module docstring).

    Returns
    -------
    tuple of (int, dict)
        How many runs finished now, and run -> error of the failed ones.
    """
    if scaled:
        link_smallest_scaled_runs(study)
    pending = [
        (f"fine-tuning {folder.parents[1].name} seed {seed}, {budget:g} min"
         + (" (scaled)" if scaled else ""), folder, command)
        for seed in study.seeds
        for budget in study.budgets
        for folder, command in finetune_command(
            study, seed, budget, out, size, device, scaled
        )
        if read_result(folder) is None
    ]  # fmt: skip

    def run(name: str, folder: Path, command: list[str]) -> str | None:
        (folder / "failure.log").unlink(missing_ok=True)
        error = run_logged(name, command, folder, threads)
        if error is not None:  # the report shows the run as failed
            (folder / "failure.log").write_text((folder / "stdout.txt").read_text())
        return error

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = {name: pool.submit(run, name, *item) for name, *item in pending}
    failures = {
        name: error
        for name, future in futures.items()
        if (error := future.result()) is not None
    }
    return len(pending) - len(failures), failures
