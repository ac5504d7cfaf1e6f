"""The encoder folder: a self-describing export of an encoder, and its loader.

A folder holds everything needed to rebuild the encoder without the recipe:

* ``encoder.json``: a format tag, the ``kind`` of encoder and a description
  (mixer, sizes, number of hidden states), checked on load so that a folder
  from another model gives a clear message instead of a wall of missing-key
  errors;
* for an encoder (``kind`` ``pretrained`` or ``untrained``):
  ``hyperparams.yaml``, the resolved ``frontend`` and ``encoder_wrapper``
  definitions (hyperpyyaml, no references to the recipe's other keys), and
  ``model.safetensors``, their weights (tensors ``frontend.*`` and
  ``encoder_wrapper.*``; safetensors, so that any toolkit reads them without
  unpickling). Folders of format version 1 held ``frontend.ckpt`` and
  ``encoder_wrapper.ckpt`` (``torch.save``) instead; they still load;
* ``config.json``, the same model as a Hugging Face-style folder
  (:mod:`.hf_style`: with ``model.safetensors`` alone it rebuilds the model).

The kinds (:data:`KINDS`): ``pretrained`` (written by ``recipes/pretrain.py``;
the default of folders written before the field existed), ``untrained`` (the
same architecture, freshly initialised, see :mod:`.baselines`) and ``fbank``
(no encoder: the log-mel features, :class:`.fbank_upstream.FbankUpstream`).

``load_encoder(folder)`` returns, in eval mode, a module whose forward gives
every hidden state (input of the first layer plus each layer), as MP3S needs,
with layerdrop switched off for good (also after ``.train()``, as a toolkit
that fine-tunes its upstream calls): a skipped layer would repeat its input as
its hidden state, which a learned weighted sum of layers must not see (the
problem of s3prl issue 350).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from hyperpyyaml import load_hyperpyyaml
from safetensors.torch import load_model, save_model
from torch import nn

from summarymixing.export.fbank_upstream import FbankUpstream
from summarymixing.export.hf_style import write_hf_config
from summarymixing.export.model_yaml import EXPORTED_KEYS, model_yaml
from summarymixing.export.pretrained_encoder import PretrainedEncoder, disable_layerdrop

FORMAT = "summarymixing-w2v2-encoder"
FORMAT_VERSION = 2
WEIGHTS_FILE = "model.safetensors"
KINDS = ("pretrained", "untrained", "fbank")
"""Values of ``kind`` in ``encoder.json``; absent means ``pretrained``."""


def write_encoder_json(folder: str | Path, description: dict[str, Any]) -> Path:
    """Write ``encoder.json``: format tag, ``kind`` (default pretrained), facts.

    Parameters
    ----------
    folder : str or Path
        An existing folder.
    description : dict
        Facts about the model; ``kind`` one of :data:`KINDS`.

    Returns
    -------
    Path
        The file written.

    Example
    -------
    >>> import tempfile
    >>> path = write_encoder_json(tempfile.mkdtemp(), {"num_hidden_states": 3})
    >>> read_encoder_json(path.parent)["kind"]
    'pretrained'
    """
    meta = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "kind": "pretrained",
        **description,
    }
    _check_kind(meta["kind"], Path(folder))
    path = Path(folder) / "encoder.json"
    path.write_text(json.dumps(meta, indent=2, default=str) + "\n")
    return path


def read_encoder_json(folder: str | Path) -> dict[str, Any]:
    """Read and check the ``encoder.json`` of an encoder folder.

    Parameters
    ----------
    folder : str or Path
        An encoder folder.

    Returns
    -------
    dict
        Its contents, with ``kind`` set (``pretrained`` when absent).

    Raises
    ------
    FileNotFoundError
        When there is no ``encoder.json``.
    ValueError
        When it describes another format or an unknown kind.

    Example
    -------
    >>> import tempfile
    >>> read_encoder_json(tempfile.mkdtemp())
    Traceback (most recent call last):
    ...
    FileNotFoundError: ... is not an exported summarymixing encoder (no encoder.json)...
    """
    folder = Path(folder)
    meta_path = folder / "encoder.json"
    if not meta_path.is_file():
        raise FileNotFoundError(
            f"{folder} is not an exported summarymixing encoder (no encoder.json); "
            "pass the 'encoder' folder written at the end of recipes/pretrain.py"
        )
    meta = json.loads(meta_path.read_text())
    if meta.get("format") != FORMAT:
        raise ValueError(
            f"{folder} holds a {meta.get('format')!r} model, not a {FORMAT!r} one; "
            "export it with summarymixing.export.export_encoder"
        )
    meta.setdefault("kind", "pretrained")
    _check_kind(meta["kind"], folder)
    return meta


def _check_kind(kind: str, folder: Path) -> None:
    if kind not in KINDS:
        raise ValueError(
            f"{folder}/encoder.json has kind {kind!r}; known kinds: {', '.join(KINDS)}"
        )


def export_encoder(
    folder: str | Path,
    base_yaml: str | Path,
    overrides: dict[str, Any],
    frontend: nn.Module,
    encoder_wrapper: nn.Module,
    description: dict[str, Any],
) -> Path:
    r"""Write the encoder folder (see the module docstring).

    Parameters
    ----------
    folder : str or Path
        Where to write; created if needed, files replaced.
    base_yaml : str or Path
        The recipe's hyperpyyaml file defining ``frontend`` and
        ``encoder_wrapper``.
    overrides : dict
        The overrides the recipe was loaded with.
    frontend, encoder_wrapper : torch.nn.Module
        The modules to export, as they are.
    description : dict
        Facts about the model to store in ``encoder.json``; ``kind`` defaults
        to ``pretrained``.

    Returns
    -------
    Path
        The folder.

    Example
    -------
    >>> import tempfile
    >>> from summarymixing import ConformerEncoder
    >>> from summarymixing.wav2vec2 import FbankConvFrontEnd, W2V2EncoderWrapper
    >>> root = Path(tempfile.mkdtemp())
    >>> _ = (root / "model.yaml").write_text(
    ...     "frontend: !new:summarymixing.wav2vec2.FbankConvFrontEnd\n"
    ...     "    out_channels: 16\n"
    ...     "encoder_wrapper: !new:summarymixing.wav2vec2.W2V2EncoderWrapper\n"
    ...     "    latent_dim: 16\n"
    ...     "    d_model: 32\n"
    ...     "    encoder: !new:summarymixing.ConformerEncoder\n"
    ...     "        {num_layers: 2, d_model: 32, d_ffn: 64, nhead: 2,\n"
    ...     "         output_hidden_states: true}\n"
    ... )
    >>> encoder = ConformerEncoder(2, 32, 64, 2, output_hidden_states=True)
    >>> folder = export_encoder(
    ...     root / "encoder", root / "model.yaml", {},
    ...     FbankConvFrontEnd(out_channels=16), W2V2EncoderWrapper(16, 32, encoder),
    ...     {"num_hidden_states": 3},
    ... )
    >>> model = load_encoder(folder)
    >>> model.description["kind"], model.training
    ('pretrained', False)
    """
    text = model_yaml(base_yaml, overrides)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "hyperparams.yaml").write_text(text)
    modules = nn.ModuleDict({"frontend": frontend, "encoder_wrapper": encoder_wrapper})
    save_model(modules, str(folder / WEIGHTS_FILE), metadata={"format": FORMAT})
    for name in EXPORTED_KEYS:  # a version-1 export replaced by this one
        (folder / f"{name}.ckpt").unlink(missing_ok=True)
    meta = read_encoder_json(write_encoder_json(folder, description).parent)
    write_hf_config(
        folder, PretrainedEncoder(frontend, encoder_wrapper, meta), text, meta
    )
    return folder


def load_encoder(folder: str | Path, device: str = "cpu") -> nn.Module:
    """Load an encoder folder of any kind, in eval mode (no dropout, no layerdrop).

    Parameters
    ----------
    folder : str or Path
        A folder written by :func:`export_encoder` (``<output>/encoder`` of a
        pre-training run) or by a function of :mod:`.baselines`.
    device : str
        Where to put the model.

    Returns
    -------
    PretrainedEncoder or FbankUpstream
        Called as ``model(wavs, wav_lens) -> (hidden_states, padding_mask)``;
        ``model.description`` is the folder's ``encoder.json``.

    Example
    -------
    >>> import tempfile
    >>> from summarymixing.export import export_fbank_baseline
    >>> model = load_encoder(export_fbank_baseline(tempfile.mkdtemp()))
    >>> type(model).__name__, model.description["num_hidden_states"]
    ('FbankUpstream', 1)
    """
    folder = Path(folder)
    meta = read_encoder_json(folder)
    if meta["kind"] == "fbank":
        model = FbankUpstream(meta["sample_rate"], meta["n_mels"], meta)
    else:
        model = _load_modules(folder, meta)
    return model.to(device).eval()


def _load_modules(folder: Path, meta: dict[str, Any]) -> PretrainedEncoder:
    """Rebuild the front-end and encoder wrapper and load their weights."""
    with open(folder / "hyperparams.yaml") as stream:
        modules = load_hyperpyyaml(stream)
    model = PretrainedEncoder(modules["frontend"], modules["encoder_wrapper"], meta)
    weights = folder / WEIGHTS_FILE
    try:
        if weights.is_file():
            load_model(model, str(weights), strict=True)
        else:  # format version 1
            for name in EXPORTED_KEYS:
                weights = folder / f"{name}.ckpt"
                state = torch.load(weights, map_location="cpu")
                getattr(model, name).load_state_dict(state)
    except RuntimeError as error:
        raise ValueError(
            f"{weights} does not match {folder}/hyperparams.yaml (the weights "
            f"come from another model): {error}"
        ) from error
    disable_layerdrop(model)
    return model
