"""Inputs of ``reproduce.py``: checks before any work, keys, corpora, stage times.

:func:`check_before_work` finds, without running or writing anything, what
would otherwise fail later: a Libri-Light of ``--hours`` that the voices or
the disk cannot hold, corpora or runs in ``--out`` made with other settings,
YAML keys the pre-training YAML does not have (an ablation's key included).
"""

from __future__ import annotations

import argparse
import json
import shlex
import time
from pathlib import Path
from typing import Any

from _label_subsets import read_record
from _pretrain_runs import pretraining_command
from _reproduce_setup import corpus_minutes
from _reproduce_stages import RECORD, Keys, corpus_roots, untrained_record
from _reproduce_study import Study, Upstream, subset_folder

from summarymixing.data.synthetic import librilight
from summarymixing.data.synthetic.corpus import STAMP
from summarymixing.training.config import merged_overrides


def check_before_work(args: argparse.Namespace, study: Study, keys: dict) -> None:
    """Raise ValueError (one line) for what would fail later; runs nothing.

    Raises
    ------
    ValueError
        Libri-Light of ``--hours`` that cannot be built (voices, free disk),
        a corpus, run or label subset in ``--out`` made with other settings,
        a key the pre-training YAML does not define.
    """
    roots = corpus_roots(args.out)
    wanted = {"librilight": {"hours": args.hours}, "librispeech": {"size": args.size},
              "voxceleb1": {"size": args.size}}  # fmt: skip
    for name, root in roots.items():
        stamp = _stamp(root)
        if stamp.get("complete") and any(
            stamp.get(key) != value for key, value in wanted[name].items()
        ):
            raise ValueError(
                f"{root} holds the {name} of another --hours or --size ({stamp}); "
                "pass another --out"
            )
        if name == "librilight" and not stamp.get("complete"):
            librilight.check_hours(root.parent, args.hours, seed=0)
    for upstream in study.pretrained:
        try:
            merged_overrides(upstream.hparams, {**keys, **upstream.keys})
        except ValueError as error:
            raise ValueError(f"{upstream.name}: {error}") from error
    conflicts = reuse_conflicts(study, lambda u, s: keys_for(keys, u, s), args.device)
    if conflicts:
        raise ValueError(
            "runs made with other settings, delete them or pass another --out: "
            + "; ".join(conflicts)
        )
    source = (args.asr_corpus or roots["librispeech"]).resolve()
    for budget in study.budgets:
        record = read_record(subset_folder(args.out, "librispeech", budget))
        if record is not None and record.source != str(source):
            raise ValueError(
                f"the {budget:g} min LibriSpeech subset in {args.out} was cut from "
                f"{record.source}, not {source}: pass another --out"
            )


def reuse_conflicts(study: Study, keys_for: Keys, device: str) -> list[str]:
    """Name the folders holding runs made with other settings (nothing runs)."""
    conflicts = []
    for upstream in study.upstreams:
        for seed in study.seeds:
            if upstream.kind == "pretrained":
                folder = study.pretrain_folder(upstream, seed).resolve()
                wanted = pretraining_command(
                    upstream.hparams, folder, device, keys_for(upstream, seed)
                )
                found = _read_json(folder / RECORD)
                if found is not None and found["command"] != wanted:
                    then = [arg for arg in found["command"] if arg not in wanted]
                    conflicts.append(f"{folder} ({shlex.join(then)})")
            elif upstream.kind == "untrained":
                folder = study.encoder_folder(upstream, seed)
                keys = keys_for(upstream, seed)
                found = _read_json(folder / RECORD)
                wanted = json.loads(json.dumps(untrained_record(upstream, keys, seed)))
                if found is not None and found != wanted:
                    conflicts.append(f"{folder} (other keys or seed)")
    return conflicts


class StageClock:
    """Wall time of every stage, kept in a JSON file across runs.

    A stage that did new work gets the time it took now; one that only reused
    what was there keeps the time of the run that did the work.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.times = json.loads(path.read_text()) if path.is_file() else {}
        self.started = time.time()

    def start(self) -> None:
        """Start timing the next stage."""
        self.started = time.time()

    def done(self, name: str, fresh: bool) -> None:
        """Record stage ``name`` (``fresh``: it did new work) and save."""
        if fresh or name not in self.times:
            self.times[name] = time.time() - self.started
        self.path.write_text(json.dumps(self.times, indent=2) + "\n")


def _stamp(root: Path) -> dict[str, Any]:
    """Return the build stamp of a synthetic corpus root ({} when none)."""
    return json.loads((root / STAMP).read_text()) if (root / STAMP).is_file() else {}


def keys_for(keys: dict[str, Any], upstream: Upstream, seed: int) -> dict[str, Any]:
    """Return the keys of one pre-training (or untrained export)."""
    return {**keys, **upstream.keys, "seed": seed}


def describe_corpora(
    args: argparse.Namespace, corpora: dict[str, Path]
) -> dict[str, dict[str, float]]:
    """Name every corpus with its use, and its minutes per part."""
    cache = args.out / "corpora" / "minutes.json"
    asr = "" if args.asr_corpus else ", ASR probes"
    described = {
        f"Libri-Light (synthetic, {args.hours:g} h asked; pre-training)": (
            corpus_minutes(corpora["librilight"], "librilight", cache)
        ),
        f"LibriSpeech (synthetic, {args.size}; validation, quality monitor{asr})": (
            corpus_minutes(corpora["librispeech"], "librispeech", cache)
        ),
        f"VoxCeleb1 (synthetic, {args.size}; speaker probes)": (
            corpus_minutes(corpora["voxceleb1"], "voxceleb1", cache)
        ),
    }
    if args.asr_corpus is not None:
        name = f"LibriSpeech {args.asr_corpus.resolve()} (--asr-corpus; ASR probes)"
        described[name] = corpus_minutes(args.asr_corpus, "librispeech", cache)
    return described


def _read_json(path: Path) -> dict | None:
    return json.loads(path.read_text()) if path.is_file() else None
