"""The baselines of an MP3S benchmark: FBANK features and an untrained encoder.

A pre-trained encoder is only interesting where it beats both (SUPERB's
tables carry both rows), so the benchmark can put them beside the encoders as columns of
their own, named after the baseline:

* ``fbank``: the 80 normalised log-mel features the Fbank front-end receives,
  no encoder (:func:`summarymixing.export.export_fbank_baseline`);
* ``untrained``: the architecture of the first encoder, freshly initialised
  with the baseline seed (:func:`summarymixing.export.export_untrained_like`);
  with the seed of that encoder's pre-training it is the very state the
  pre-training started from;
* ``untrained=PATH``: the model of a pre-training YAML as it is, without the
  demo keys or any other override (``hparams/w2v2_summarymixing.yaml`` is the
  paper's 12-layer model; :func:`summarymixing.export.export_untrained`).

Each baseline is exported once, as an encoder folder, to
``<output>/baselines/<name>`` (:func:`export_baseline`); a later run reuses it
when it is the same baseline (kind, seed, source) and refuses a different one,
whose results would otherwise be mixed with the old ones.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from summarymixing.export import (
    export_fbank_baseline,
    export_untrained,
    export_untrained_like,
    read_encoder_json,
)

BASELINE_NAMES = ("fbank", "untrained")
BASELINE_CHOICES = ("fbank", "untrained", "untrained=PATH/TO/PRETRAINING.yaml")
DEFAULT_BASELINE_SEED = 1986


@dataclass(frozen=True)
class Baseline:
    """One baseline column.

    Attributes
    ----------
    name : str
        ``fbank`` or ``untrained``: the kind, the column and the folder name.
    source : Path or None
        What an untrained baseline copies: an encoder folder or a pre-training
        YAML (absolute); None for ``fbank``.
    seed : int or None
        The initialisation seed of an untrained baseline; None for ``fbank``.

    Example
    -------
    >>> Baseline("untrained", Path("/r/sm/encoder"), 1986).record()
    {'kind': 'untrained', 'seed': 1986, 'source': '/r/sm/encoder'}
    >>> Baseline("fbank").describe()
    'fbank: the 80 normalised log-mel features, no encoder'
    """

    name: str
    source: Path | None = None
    seed: int | None = None

    def record(self) -> dict[str, Any]:
        """Return what the ``encoder.json`` of this very baseline says."""
        if self.name == "fbank":
            return {"kind": "fbank"}
        return {"kind": "untrained", "seed": self.seed, "source": str(self.source)}

    def describe(self) -> str:
        """One line for the reports."""
        if self.name == "fbank":
            return "fbank: the 80 normalised log-mel features, no encoder"
        return (
            f"untrained: the model of {self.source}, initialised with seed "
            f"{self.seed}, never trained"
        )


def parse_baselines(
    texts: Sequence[str], first_encoder: str | Path, seed: int
) -> list[Baseline]:
    """Read ``--baseline`` values (see the module docstring).

    Parameters
    ----------
    texts : Sequence of str
        ``fbank``, ``untrained`` or ``untrained=PATH``, each at most once.
    first_encoder : str or Path
        The encoder folder that ``untrained`` copies.
    seed : int
        The seed of the untrained baseline.

    Returns
    -------
    list of Baseline
        In the order given.

    Raises
    ------
    ValueError, FileNotFoundError
        An unknown or repeated baseline, a first encoder that is not ours, a
        missing YAML.

    Example
    -------
    >>> parse_baselines(["fbank"], "unused", 1986)
    [Baseline(name='fbank', source=None, seed=None)]
    >>> parse_baselines(["mfcc"], "unused", 1986)
    Traceback (most recent call last):
    ...
    ValueError: unknown baseline 'mfcc'; valid: fbank, untrained, untrained=PATH/TO/PRETRAINING.yaml
    """  # noqa: E501
    baselines: dict[str, Baseline] = {}
    for text in texts:
        name, sep, path = text.partition("=")
        name = name.strip()
        if name not in BASELINE_NAMES or (sep and name != "untrained"):
            raise ValueError(
                f"unknown baseline {text!r}; valid: {', '.join(BASELINE_CHOICES)}"
            )
        if name in baselines:
            raise ValueError(f"baseline {name!r} is given twice; give it once")
        if name == "fbank":
            baselines[name] = Baseline(name)
        else:
            source = _untrained_source(Path(path) if sep else None, first_encoder)
            baselines[name] = Baseline(name, source, seed)
    return list(baselines.values())


def _untrained_source(yaml_file: Path | None, first_encoder: str | Path) -> Path:
    if yaml_file is not None:
        if not yaml_file.is_file():
            raise FileNotFoundError(
                f"--baseline untrained={yaml_file}: no such pre-training YAML "
                "(for example hparams/w2v2_summarymixing.yaml)"
            )
        return yaml_file.resolve()
    first = Path(first_encoder)
    if not (first / "encoder.json").is_file():
        raise ValueError(
            f"--baseline untrained copies the architecture of the first --encoder, "
            f"{first}, which is not an encoder folder of recipes/pretrain.py (no "
            "encoder.json): put such a folder first, or pass "
            "untrained=PATH/TO/PRETRAINING.yaml"
        )
    return first.resolve()


def export_baseline(baseline: Baseline, folder: str | Path) -> Path:
    """Export the baseline to ``folder``, or reuse the same one found there.

    Parameters
    ----------
    baseline : Baseline
        From :func:`parse_baselines`.
    folder : str or Path
        Its folder, ``<output>/baselines/<name>``.

    Returns
    -------
    Path
        The folder, an encoder folder.

    Raises
    ------
    ValueError
        When the folder holds another baseline (another seed or source). A
        folder without ``encoder.json`` (an export that did not finish) is
        written again.

    Example
    -------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp()) / "fbank"
    >>> export_baseline(Baseline("fbank"), folder) == folder
    True
    >>> export_baseline(Baseline("fbank"), folder) == folder  # reused
    True
    """
    folder = Path(folder)
    wanted = baseline.record()
    if (folder / "encoder.json").is_file():  # written last: the export finished
        meta = read_encoder_json(folder)
        found = {key: meta.get(key) for key in wanted}
        if found == wanted:
            return folder
        raise ValueError(
            f"{folder} holds another baseline ({found}), not {wanted}: delete it "
            f"and the results of the {baseline.name!r} column (the folder "
            f"{baseline.name} next to baselines/), or pass another --output"
        )
    if baseline.name == "fbank":
        return export_fbank_baseline(folder)
    if (baseline.source / "encoder.json").is_file():
        return export_untrained_like(baseline.source, folder, baseline.seed)
    return export_untrained(folder, baseline.source, {}, baseline.seed)
