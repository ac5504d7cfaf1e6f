"""What one ``reproduce.py`` study runs and where each piece lies on disk.

A study is a set of upstreams (pre-trained models, the untrained encoder, the
FBANK features) probed for every seed and label budget. The main study
compares SummaryMixing, MHSA, ``untrained`` and ``fbank``; an ablation study
(``--ablation NAME``) compares two SummaryMixing pre-trainings that differ in
one YAML key. Layout under the study's folder (``--out``, or
``<out>/ablation_<NAME>``)::

    seed-<s>/pretrain/<model>/        recipes/pretrain.py's output folder:
                                      log.txt, steps.jsonl, encoder/, reproduce.json
    seed-<s>/untrained/               the untrained encoder of seed s
    fbank/                            the FBANK baseline (one for all seeds)
    seed-<s>/probes-<A>min/           recipes/mp3s_benchmark.py's output for
                                      seed s and budget A: results.md,
                                      <upstream>/<task>/<probe>/result.json
    report.md  results.csv  summary.csv  curves.png  downstream.png  efficiency.png

Corpora and label subsets are shared by every study of one ``--out``:
``<out>/corpora/`` and ``<out>/subsets/<task>-<A>min/``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Upstream:
    """One column of the study.

    Attributes
    ----------
    name : str
        Column and folder name (letters, digits, ``._+-``).
    kind : str
        ``pretrained`` (``recipes/pretrain.py``), ``untrained`` or ``fbank``.
    hparams : Path or None
        The pre-training YAML of a pre-trained or untrained upstream.
    keys : Mapping
        YAML keys of this upstream only (an ablation's value).
    """

    name: str
    kind: str
    hparams: Path | None = None
    keys: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Ablation:
    """One pre-training YAML key, its default value and the alternative.

    Example
    -------
    >>> ablation = Ablation("mask_prob", 0.65, 0.5)
    >>> ablation.arm_names()
    ('mask_prob-0.65', 'mask_prob-0.5')
    >>> Ablation("use_layernorm", True, False).arm_names()
    ('use_layernorm-true', 'use_layernorm-false')
    """

    key: str
    default: Any
    alternative: Any

    def arm_names(self) -> tuple[str, str]:
        """Return the upstream names of the default and the alternative."""
        values = (self.default, self.alternative)
        return tuple(f"{self.key}-{_spell(value)}" for value in values)


def _spell(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


@dataclass(frozen=True)
class Study:
    """Upstreams x seeds x label budgets, and the folder everything goes to.

    ``reference`` is the upstream the cost ratios divide by (MHSA, or the
    ablation's default arm).

    Example
    -------
    >>> study = Study(Path("out"), (1986,), (10.0,), (Upstream("fbank", "fbank"),),
    ...               "fbank")
    >>> study.run_folder(study.upstreams[0], 1986, 10.0, "voxceleb1", "xvector")
    PosixPath('out/seed-1986/probes-10min/fbank/voxceleb1/xvector')
    """

    out: Path
    seeds: tuple[int, ...]
    budgets: tuple[float, ...]
    upstreams: tuple[Upstream, ...]
    reference: str
    ablation: Ablation | None = None
    title: str = "SummaryMixing vs attention: a small-scale reproduction"

    @property
    def pretrained(self) -> tuple[Upstream, ...]:
        """The upstreams that ``recipes/pretrain.py`` trains."""
        return tuple(u for u in self.upstreams if u.kind == "pretrained")

    def pretrain_folder(self, upstream: Upstream, seed: int) -> Path:
        """Return the pre-training output folder of a pre-trained upstream."""
        return self.out / f"seed-{seed}" / "pretrain" / upstream.name

    def encoder_folder(self, upstream: Upstream, seed: int) -> Path:
        """Return the encoder folder the probes read."""
        if upstream.kind == "fbank":
            return self.out / "fbank"
        if upstream.kind == "untrained":
            return self.out / f"seed-{seed}" / upstream.name
        return self.pretrain_folder(upstream, seed) / "encoder"

    def group_folder(self, seed: int, budget: float) -> Path:
        """Return the MP3S benchmark folder of one seed and label budget."""
        return self.out / f"seed-{seed}" / f"probes-{budget:g}min"

    def run_folder(
        self, upstream: Upstream, seed: int, budget: float, task: str, probe: str
    ) -> Path:
        """Return the folder of one probe run (the MP3S benchmark's layout)."""
        return self.group_folder(seed, budget) / upstream.name / task / probe


def seeds_for(count: int, first: int = 1986) -> tuple[int, ...]:
    """Return the seeds of ``count`` repetitions: 1986 (recipes' default), 1987...

    Example
    -------
    >>> seeds_for(3)
    (1986, 1987, 1988)
    """
    return tuple(first + k for k in range(count))


def subset_folder(out: Path, task: str, budget: float) -> Path:
    """Return the folder of the label subset of a task and budget (shared).

    Example
    -------
    >>> subset_folder(Path("out"), "librispeech", 10.0).as_posix()
    'out/subsets/librispeech-10min'
    """
    return out / "subsets" / f"{task}-{budget:g}min"
