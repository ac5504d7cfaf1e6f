"""Baselines of every SSL table, written as encoder folders.

SUPERB-style tables report, beside each pre-trained encoder, the same probe on
FBANK features (no encoder) and on an untrained encoder of the same
architecture: a pre-trained model is only interesting where it beats both.
Each baseline is an encoder folder
(:mod:`.encoder_folder`), so that ``load_encoder``, ``run_probe`` and the MP3S
benchmark take it like any encoder:

* :func:`export_fbank_baseline`: kind ``fbank``, only ``encoder.json``;
  ``load_encoder`` returns a :class:`~.fbank_upstream.FbankUpstream`;
* :func:`export_untrained`: kind ``untrained``, the ``frontend`` and
  ``encoder_wrapper`` of a pre-training YAML built after
  ``torch.manual_seed(seed)`` and exported as they are;
* :func:`export_untrained_like`: the same, with the architecture of an
  exported encoder folder.

Modules are built in the order of the pre-training YAML (front-end, encoder,
wrapper) right after the seed, as the YAML's own ``__set_seed`` does: with
the pre-training's seed, the untrained encoder is the very state its
pre-training started from. The caller's random state is left unchanged.
``encoder.json`` records ``seed`` and ``source`` (the YAML or folder copied).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from hyperpyyaml import load_hyperpyyaml

from summarymixing.export.encoder_folder import (
    export_encoder,
    read_encoder_json,
    write_encoder_json,
)
from summarymixing.export.fbank_upstream import FbankUpstream
from summarymixing.export.model_yaml import model_yaml, resolved_values
from summarymixing.export.pretrained_encoder import PretrainedEncoder
from summarymixing.training.config import merged_overrides

DESCRIBED_KEYS = ("attention_type", "mode", "d_model", "num_layers", "sample_rate")
"""Keys of a pre-training YAML copied into an untrained encoder's description."""


def export_fbank_baseline(
    folder: str | Path, sample_rate: int = 16000, n_mels: int = 80
) -> Path:
    """Write the FBANK baseline folder (kind ``fbank``, one hidden state).

    Parameters
    ----------
    folder : str or Path
        Where to write; created if needed.
    sample_rate : int
        Sampling rate of the probed audio, in Hz.
    n_mels : int
        Number of mel filters.

    Returns
    -------
    Path
        The folder.

    Example
    -------
    >>> import tempfile
    >>> from summarymixing.export import read_encoder_json
    >>> meta = read_encoder_json(export_fbank_baseline(tempfile.mkdtemp()))
    >>> meta["kind"], meta["num_hidden_states"], meta["frame_rate_hz"]
    ('fbank', 1, 100.0)
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    write_encoder_json(folder, FbankUpstream(sample_rate, n_mels).description)
    return folder


def export_untrained(
    folder: str | Path,
    base_yaml: str | Path,
    overrides: dict[str, Any],
    seed: int,
) -> Path:
    """Export the freshly initialised encoder of a pre-training YAML.

    Parameters
    ----------
    folder : str or Path
        Where to write; created if needed, files replaced.
    base_yaml : str or Path
        A pre-training hyperpyyaml file (an ``extends`` variant such as
        ``hparams/w2v2_summarymixing.yaml`` is followed to its base).
    overrides : dict
        Overrides of its keys (for example those of ``hparams/demo.yaml``);
        an unknown key is an error.
    seed : int
        ``torch.manual_seed`` right before the modules are built.

    Returns
    -------
    Path
        The folder (kind ``untrained``, ``optimizer_steps`` 0).

    Example
    -------
    >>> import tempfile
    >>> from summarymixing.export import load_encoder
    >>> from summarymixing.resources import hparams_folder
    >>> hparams = hparams_folder()
    >>> tiny = {"latent_dim": 16, "d_model": 32, "num_layers": 2, "d_ffn": 64,
    ...         "nhead": 2, "local_proj_hid_dim": [32], "local_proj_out_dim": 32,
    ...         "summary_hid_dim": [32], "summary_out_dim": 32, "target_dim": 16}
    >>> folder = export_untrained(
    ...     tempfile.mkdtemp(), hparams / "w2v2_summarymixing.yaml", tiny, seed=3
    ... )
    >>> model = load_encoder(folder)
    >>> meta = model.description
    >>> meta["kind"], meta["seed"], meta["optimizer_steps"], meta["num_hidden_states"]
    ('untrained', 3, 0, 3)
    """
    base, merged = merged_overrides(base_yaml, overrides)
    description = resolved_values(base, merged, DESCRIBED_KEYS)
    return _export_initialised(
        folder, base, merged, seed, description | _untrained(seed, base_yaml)
    )


def export_initial_state(
    base_yaml: str | Path, overrides: dict[str, Any]
) -> tuple[Path, int]:
    """Export the untrained encoder of a pre-training run to its export folder.

    What ``recipes/pretrain.py ... --optimizer_step_limit 0`` does: the model
    of ``base_yaml`` with ``overrides``, initialised with the run's ``seed``,
    goes to the run's ``export_folder``, without any data or training.

    Parameters
    ----------
    base_yaml : str or Path
        The pre-training YAML (variants are followed to their base).
    overrides : dict
        The run's overrides.

    Returns
    -------
    tuple of (Path, int)
        The folder and the seed.

    Raises
    ------
    ValueError
        When the export folder already holds a pre-trained encoder.

    Example
    -------
    >>> import tempfile
    >>> from summarymixing.resources import hparams_folder
    >>> hparams = hparams_folder()
    >>> out = tempfile.mkdtemp()
    >>> tiny = {"latent_dim": 16, "d_model": 32, "num_layers": 1, "d_ffn": 64,
    ...         "nhead": 2, "local_proj_hid_dim": [32], "local_proj_out_dim": 32,
    ...         "summary_hid_dim": [32], "summary_out_dim": 32, "target_dim": 16,
    ...         "output_folder": out, "seed": 5}
    >>> folder, seed = export_initial_state(hparams / "w2v2_summarymixing.yaml", tiny)
    >>> folder.name, seed, read_encoder_json(folder)["kind"]
    ('encoder', 5, 'untrained')
    """
    base, merged = merged_overrides(base_yaml, overrides)
    values = resolved_values(base, merged, ("export_folder", "seed"))
    folder, seed = Path(values["export_folder"]), int(values["seed"])
    if (folder / "encoder.json").is_file():
        kind = read_encoder_json(folder)["kind"]
        if kind != "untrained":
            raise ValueError(
                f"{folder} holds a {kind} encoder; an untrained one would replace "
                "it: pass another --output_folder"
            )
    return export_untrained(folder, base_yaml, overrides, seed), seed


def export_untrained_like(
    encoder_folder: str | Path, folder: str | Path, seed: int
) -> Path:
    """Export an untrained encoder of the same architecture as an encoder folder.

    Parameters
    ----------
    encoder_folder : str or Path
        An encoder folder (pre-trained or untrained) whose ``hyperparams.yaml``
        is copied.
    folder : str or Path
        Where to write; created if needed, files replaced; not
        ``encoder_folder`` itself.
    seed : int
        ``torch.manual_seed`` right before the modules are built.

    Returns
    -------
    Path
        The folder (kind ``untrained``, ``optimizer_steps`` 0).

    Raises
    ------
    ValueError
        For an FBANK baseline folder (it has no encoder to copy), or when
        ``folder`` is ``encoder_folder``.

    Example
    -------
    >>> import tempfile
    >>> fbank = export_fbank_baseline(tempfile.mkdtemp())
    >>> export_untrained_like(fbank, tempfile.mkdtemp(), seed=0)
    Traceback (most recent call last):
    ...
    ValueError: ... is the FBANK baseline: it has no encoder whose architecture ...
    """
    source = Path(encoder_folder)
    meta = read_encoder_json(source)
    if meta["kind"] == "fbank":
        raise ValueError(
            f"{source} is the FBANK baseline: it has no encoder whose architecture "
            "an untrained encoder could copy; pass an encoder folder written by "
            "recipes/pretrain.py"
        )
    if Path(folder).resolve() == source.resolve():
        raise ValueError(
            f"export_untrained_like would overwrite {source} with an untrained "
            "copy of itself; write it to another folder"
        )
    description = {
        key: value
        for key, value in meta.items()
        if key not in ("format", "format_version")
    }
    return _export_initialised(
        folder,
        source / "hyperparams.yaml",
        {},
        seed,
        description | _untrained(seed, source),
    )


def _untrained(seed: int, source: str | Path) -> dict[str, Any]:
    return {
        "kind": "untrained",
        "optimizer_steps": 0,
        "seed": seed,
        "source": str(Path(source).resolve()),
    }


def _export_initialised(
    folder: str | Path,
    yaml_file: Path,
    overrides: dict[str, Any],
    seed: int,
    description: dict[str, Any],
) -> Path:
    """Build the model definitions of ``yaml_file`` after the seed; export them."""
    text = model_yaml(yaml_file, overrides)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        modules = load_hyperpyyaml(text)
        frontend, wrapper = modules["frontend"], modules["encoder_wrapper"]
        states = _count_hidden_states(PretrainedEncoder(frontend, wrapper, {}))
    return export_encoder(
        folder,
        yaml_file,
        overrides,
        frontend,
        wrapper,
        description | {"num_hidden_states": states},
    )


def _count_hidden_states(model: PretrainedEncoder) -> int:
    """Run 1 s of low-level noise through the model in eval mode."""
    model.eval()
    noise = 0.01 * torch.randn(1, 16000)
    with torch.no_grad():
        hidden_states, _ = model(noise, torch.ones(1))
    return len(hidden_states)
