"""The setup section of a ``reproduce.py`` report: how the numbers were made.

:class:`Setup` gathers the command, the machine (:func:`machine_description`,
load average at the start and the end), the wall time of every stage, the
corpora with their minutes (:func:`corpus_minutes`), the label subsets and
the keys given to the recipes; :func:`setup_section` writes it as markdown.
"""

from __future__ import annotations

import json
import os
import platform
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from _label_subsets import SubsetRecord, audio_seconds
from _reproduce_study import Study

from summarymixing.mp3s.corpora.voxceleb import read_trials

SPLITS = ("train-clean-100", "dev-clean", "test-clean")
"""The LibriSpeech splits the probes and the monitor read."""


@dataclass
class Setup:
    """How a study was run; every field is shown in the setup section.

    ``keys`` are the pre-training keys shared by every model and seed
    (``demo_keys`` the names of those that come from ``hparams/demo.yaml``);
    ``corpora`` maps a corpus description to its minutes per part;
    ``processes`` is ``(--jobs, --threads)``.
    """

    command: str
    machine: dict[str, Any]
    stages: dict[str, float]
    keys: dict[str, Any]
    demo_keys: list[str]
    probe_overrides: dict[str, dict[str, Any]]
    corpora: dict[str, dict[str, float]]
    subsets: dict[tuple[str, float], SubsetRecord]
    processes: tuple[int, int] = (1, 1)
    baseline_mib: float | None = None
    failures: list[str] = field(default_factory=list)


def machine_description() -> dict[str, Any]:
    """Describe the CPU, cores, memory, library versions and the load average.

    ``cpu_kernels`` is the vector instruction set torch dispatches its CPU
    kernels to (``torch.backends.cpu.get_cpu_capability()``): runs of the same
    code and seeds repeat to the last digit on one kind of CPU but not across
    kinds (README, "Ablations"), so the report names it.

    Example
    -------
    >>> machine_description()["logical_cores"] >= 1
    True
    """
    cpu, memory = platform.processor() or platform.machine(), None
    cpuinfo, meminfo = Path("/proc/cpuinfo"), Path("/proc/meminfo")
    if cpuinfo.is_file():
        models = [
            line
            for line in cpuinfo.read_text().splitlines()
            if line.startswith("model name")
        ]
        cpu = models[0].split(":", 1)[1].strip() if models else cpu
    if meminfo.is_file():
        memory = int(meminfo.read_text().split()[1]) / 2**20
    import speechbrain

    return {
        "cpu": cpu,
        "cpu_kernels": torch.backends.cpu.get_cpu_capability(),
        "logical_cores": os.cpu_count() or 1,
        "usable_cores": len(os.sched_getaffinity(0)),
        "memory_gib": memory,
        "torch": torch.__version__,
        "speechbrain": speechbrain.__version__,
        "python": platform.python_version(),
        "cuda": torch.cuda.get_device_name() if torch.cuda.is_available() else None,
        "load_start": os.getloadavg()[0],
    }


def corpus_minutes(root: Path, kind: str, cache: Path) -> dict[str, float]:
    """Return the minutes of audio of a corpus per part, cached in ``cache``.

    ``kind``: ``librilight`` (one part), ``librispeech`` (the splits of
    :data:`SPLITS`) or ``voxceleb1`` (training and trial speakers).
    """
    known = json.loads(cache.read_text()) if cache.is_file() else {}
    key = f"{kind}:{root.resolve()}"
    if key not in known:
        parts: dict[str, float] = {}
        if kind == "voxceleb1":
            trials = read_trials(root / "veri_test2.txt", root / "wav")
            tested = {t.enrol_id.split("/")[0] for t in trials}
            tested |= {t.test_id.split("/")[0] for t in trials}
        for path in _audio_files(root, kind):
            relative = path.relative_to(root).parts
            if kind == "librilight":
                part = "all"
            elif kind == "librispeech":
                part = relative[0]
            else:
                part = (
                    "trial speakers" if relative[1] in tested else "training speakers"
                )
            parts[part] = parts.get(part, 0.0) + (audio_seconds(path) or 0.0) / 60
        known[key] = parts
        cache.write_text(json.dumps(known, indent=1) + "\n")
    return known[key]


def _audio_files(root: Path, kind: str) -> list[Path]:
    if kind == "librispeech":
        return sorted(p for split in SPLITS for p in (root / split).rglob("*.flac"))
    return sorted(root.rglob("*.wav" if kind == "voxceleb1" else "*.flac"))


def _minutes(parts: dict[str, float]) -> str:
    return ", ".join(f"{part} {minutes:.1f} min" for part, minutes in parts.items())


def _duration(seconds: float) -> str:
    """Seconds below a minute, else minutes.

    Example
    -------
    >>> _duration(42.4), _duration(150.0)
    ('42 s', '2.5 min')
    """
    return f"{seconds:.0f} s" if seconds < 60 else f"{seconds / 60:.1f} min"


def _keys(keys: dict[str, Any]) -> str:
    return ", ".join(f"`{key}: {value}`" for key, value in keys.items()) or "none"


def subset_lines(subsets: dict[tuple[str, float], SubsetRecord]) -> list[str]:
    """Markdown table of the label subsets: asked, kept, and what limited them."""
    lines = [
        "| task | cut from | budget (min) | kept (min) | utterances | speakers "
        "| note |",
        "|---|---|---:|---:|---:|---:|---|",
    ]
    for (task, budget), record in subsets.items():
        note = []
        if record.all_used:
            note.append("the budget exceeds the corpus: all of it is used")
        if record.floor_exceeded:
            note.append("the utterances every speaker keeps already exceed the budget")
        lines.append(
            f"| {task} | `{record.source}` | {budget:g} | {record.minutes:.2f} | "
            f"{record.utterances} | "
            f"{record.speakers} | {'; '.join(note) or '-'} |"
        )
    return lines


def setup_section(study: Study, setup: Setup) -> str:
    """Markdown lines: command, machine, seeds, keys, corpora, subsets, times."""
    machine = setup.machine
    memory = "?" if machine["memory_gib"] is None else f"{machine['memory_gib']:.0f}"
    demo = {k: v for k, v in setup.keys.items() if k in setup.demo_keys}
    other = {k: v for k, v in setup.keys.items() if k not in setup.demo_keys}
    yamls = ", ".join(
        f"{u.name} `{u.hparams.name}`" + (f" + {_keys(dict(u.keys))}" if u.keys else "")
        for u in study.pretrained
    )
    stages = ", ".join(f"{name} {_duration(s)}" for name, s in setup.stages.items())
    lines = [
        f"- Command: `{setup.command}`",
        f"- Machine: {machine['cpu']}"
        + (f" (torch CPU kernels {k})" if (k := machine.get("cpu_kernels")) else "")
        + f", {machine['logical_cores']} logical cores "
        f"({machine['usable_cores']} usable), {memory} GiB"
        + (f", GPU {machine['cuda']}" if machine["cuda"] else "")
        + f"; 1-minute load average {machine['load_start']:.1f} at the start, "
        f"{machine.get('load_end', float('nan')):.1f} at the end (other work on "
        "the machine slows every run down)",
        f"- Software: torch {machine['torch']}, SpeechBrain {machine['speechbrain']}, "
        f"Python {machine['python']}",
        f"- Seeds: {', '.join(map(str, study.seeds))} (1986 + k): the pre-training's "
        "`seed` (initialisation, masks, batch order; the untrained encoder is the "
        "initial state of the SummaryMixing run of the same seed) and every probe's "
        "`seed`",
        f"- Pre-training: `recipes/pretrain.py` with {yamls}; the demo keys "
        f"(`hparams/demo.yaml`): {_keys(demo)}; and, for every model: {_keys(other)}",
        f"- Probes: MP3S LibriSpeech BiLSTM-CTC and VoxCeleb1 x-vector through "
        f"`recipes/mp3s_benchmark.py`, with {_probe_keys(setup.probe_overrides)}",
    ]
    lines += [
        f"- Corpus {name}: {_minutes(parts)}" for name, parts in setup.corpora.items()
    ]
    jobs, threads = setup.processes
    lines += [
        f"- Processes: up to {jobs} at once (pre-trainings submitted seed by seed, "
        f"the models of a seed side by side), {threads} thread(s) each",
        f"- Wall time per stage: {stages}",
        "",
        "Label subsets (utterances taken from every speaker in turn; dev and test "
        "untouched; the VoxCeleb1 preparer holds out one utterance of every "
        "speaker for validation):",
        "",
    ]
    return "\n".join(lines + subset_lines(setup.subsets))


def _probe_keys(overrides: dict[str, dict[str, Any]]) -> str:
    return "; ".join(f"{task}: {_keys(keys)}" for task, keys in overrides.items())
