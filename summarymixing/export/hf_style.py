"""Hugging Face-style view of an encoder folder: ``config.json`` + weights.

Every encoder folder written by :func:`~.encoder_folder.export_encoder` also
holds a ``config.json`` in the layout of a Hugging Face model folder: the
``model_type`` (:data:`MODEL_TYPE`), ``architectures``, ``hidden_size``,
``num_hidden_layers``, ``sampling_rate``, ``inputs_to_logits_ratio`` (input
samples per output frame, as in ``Wav2Vec2Config``) and, under
``model_definition``, the hyperpyyaml text that builds the modules. So
``config.json`` and ``model.safetensors`` alone rebuild the model:
:meth:`SummaryMixingW2V2Model.from_pretrained` reads a folder holding just
those two files (copied anywhere, uploaded to a model hub and downloaded
again), and its forward takes and returns what a ``Wav2Vec2Model`` does
(``input_values``, ``attention_mask`` with 1 on real samples;
``last_hidden_state`` and ``hidden_states``). ``transformers`` cannot build
the model from the folder by itself (it does not know the model type), and
nothing here needs ``transformers``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from hyperpyyaml import load_hyperpyyaml
from safetensors.torch import load_model
from torch import nn

from summarymixing.export.pretrained_encoder import PretrainedEncoder, disable_layerdrop

MODEL_TYPE = "summarymixing_w2v2"
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
SAMPLE_RATE = 16000


def write_hf_config(
    folder: Path, model: PretrainedEncoder, definition: str, description: dict
) -> Path:
    """Write ``config.json`` for ``model``, built by the YAML text ``definition``.

    Example
    -------
    >>> import tempfile
    >>> from summarymixing import ConformerEncoder
    >>> from summarymixing.wav2vec2 import FbankConvFrontEnd, W2V2EncoderWrapper
    >>> encoder = ConformerEncoder(2, 32, 64, 2, output_hidden_states=True)
    >>> model = PretrainedEncoder(
    ...     FbankConvFrontEnd(out_channels=16), W2V2EncoderWrapper(16, 32, encoder), {}
    ... )
    >>> path = write_hf_config(Path(tempfile.mkdtemp()), model, "x: 1",
    ...                        {"num_hidden_states": 3})
    >>> config = json.loads(path.read_text())
    >>> config["model_type"], config["inputs_to_logits_ratio"], config["hidden_size"]
    ('summarymixing_w2v2', 320, 32)
    """
    states = description.get("num_hidden_states")
    config = {
        "model_type": MODEL_TYPE,
        "architectures": [SummaryMixingW2V2Model.__name__],
        "hidden_size": model.encoder_wrapper.input_proj.out_features,
        "num_hidden_layers": None if states is None else states - 1,
        "num_hidden_states": states,
        "sampling_rate": SAMPLE_RATE,
        "inputs_to_logits_ratio": samples_per_frame(model),
        "description": description,
        "model_definition": definition,
    }
    path = Path(folder) / CONFIG_FILE
    path.write_text(json.dumps(config, indent=2, default=str) + "\n")
    return path


def samples_per_frame(model: nn.Module, probe_samples: int = 160000) -> int:
    """Input samples per output frame of a model with ``output_lengths``.

    Measured as the growth in frames between ``probe_samples`` and twice as
    many, so that the edge effects of the convolutions cancel.

    Example
    -------
    >>> from summarymixing.export import FbankUpstream
    >>> samples_per_frame(FbankUpstream())
    160
    """
    lengths = torch.tensor([probe_samples, 2 * probe_samples])
    frames = model.output_lengths(lengths)
    return round(probe_samples / int(frames[1] - frames[0]))


@dataclass
class SummaryMixingOutput:
    """What :class:`SummaryMixingW2V2Model` returns (named as in ``transformers``).

    Attributes
    ----------
    last_hidden_state : torch.Tensor
        ``(batch, frames, hidden_size)``, zero on padded frames.
    hidden_states : tuple of torch.Tensor
        The input of the first layer, then each layer's output.
    padding_mask : torch.Tensor
        ``(batch, frames)``, True on padded frames.
    """

    last_hidden_state: torch.Tensor
    hidden_states: tuple[torch.Tensor, ...]
    padding_mask: torch.Tensor


class SummaryMixingW2V2Model(nn.Module):
    """An exported encoder with a ``Wav2Vec2Model``-like interface.

    Parameters
    ----------
    encoder : PretrainedEncoder
        The front-end and context network.
    config : dict
        The folder's ``config.json``.
    """

    def __init__(self, encoder: PretrainedEncoder, config: dict[str, Any]) -> None:
        super().__init__()
        self.encoder = encoder
        self.config = config

    @classmethod
    def from_pretrained(
        cls, path: str | Path, device: str = "cpu"
    ) -> SummaryMixingW2V2Model:
        """Build the model from ``config.json`` and ``model.safetensors``, in eval mode.

        Raises
        ------
        FileNotFoundError, ValueError
            A folder without those files, or whose ``config.json`` describes
            another model type or whose weights belong to another model.
        """
        folder = Path(path)
        config = read_hf_config(folder)
        modules = load_hyperpyyaml(config["model_definition"])
        description = {**config.get("description", {}), "kind": "pretrained"}
        encoder = PretrainedEncoder(
            modules["frontend"], modules["encoder_wrapper"], description
        )
        weights = folder / WEIGHTS_FILE
        if not weights.is_file():
            raise FileNotFoundError(f"{folder} has no {WEIGHTS_FILE}")
        try:
            load_model(encoder, str(weights), strict=True)
        except RuntimeError as error:
            raise ValueError(
                f"{weights} does not match {folder / CONFIG_FILE} (the weights "
                f"come from another model): {error}"
            ) from error
        disable_layerdrop(encoder)
        return cls(encoder, config).to(device).eval()

    def forward(
        self, input_values: torch.Tensor, attention_mask: torch.Tensor | None = None
    ) -> SummaryMixingOutput:
        """Encode ``(batch, samples)`` 16 kHz audio; ``attention_mask`` 1 = real."""
        samples = input_values.shape[1]
        if attention_mask is None:
            wav_lens = torch.ones(input_values.shape[0], device=input_values.device)
        else:
            wav_lens = attention_mask.sum(dim=1).float() / samples
        states, padding = self.encoder(input_values, wav_lens)
        keep = (~padding).unsqueeze(-1).to(states[0].dtype)
        states = tuple(state * keep for state in states)
        return SummaryMixingOutput(states[-1], states, padding)


def read_hf_config(folder: str | Path) -> dict[str, Any]:
    """Read and check the ``config.json`` of a Hugging Face-style folder.

    Example
    -------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "config.json").write_text('{"model_type": "wav2vec2"}')
    >>> read_hf_config(folder)
    Traceback (most recent call last):
    ...
    ValueError: ...config.json describes a 'wav2vec2' model, not a ...
    """
    path = Path(folder) / CONFIG_FILE
    if not path.is_file():
        raise FileNotFoundError(
            f"{folder} has no {CONFIG_FILE}: pass an encoder folder exported by "
            "recipes/pretrain.py (or a copy of its config.json and model.safetensors)"
        )
    config = json.loads(path.read_text())
    if config.get("model_type") != MODEL_TYPE or "model_definition" not in config:
        raise ValueError(
            f"{path} describes a {config.get('model_type')!r} model, not a "
            f"{MODEL_TYPE!r} one; a Hugging Face wav2vec 2.0 folder loads with "
            "transformers.Wav2Vec2Model (or as an MP3S upstream)"
        )
    return config
